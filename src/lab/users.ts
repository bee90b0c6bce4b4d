// The seeds' fake API: users and their posts, pure functions of (seed, id).
import { hash32, pick } from './rng.ts';

/** A fake user. */
export interface LabUser {
  id: number;
  name: string;
  username: string;
  email: string;
  city: string;
  company: string;
}

/** A fake post. */
export interface LabPost {
  id: number;
  userId: number;
  title: string;
  body: string;
}

/** Posts per user; post ids of user u are (u-1)·POSTS_PER_USER + 1 … u·POSTS_PER_USER. */
export const POSTS_PER_USER = 10;

const FIRST = ['Ada', 'Alan', 'Barbara', 'Claude', 'Dennis', 'Edsger', 'Frances', 'Grace', 'John', 'Ken', 'Leslie', 'Margaret', 'Niklaus', 'Radia', 'Sophie', 'Tim'];
const LAST = ['Lovelace', 'Turing', 'Liskov', 'Shannon', 'Ritchie', 'Dijkstra', 'Allen', 'Hopper', 'McCarthy', 'Thompson', 'Lamport', 'Hamilton', 'Wirth', 'Perlman', 'Wilson', 'Berners-Lee'];
const CITIES = ['Lisbon', 'Nairobi', 'Osaka', 'Quito', 'Reykjavik', 'Tallinn', 'Wellington', 'Montreal'];
const WORDS = ['async', 'await', 'signal', 'queue', 'task', 'group', 'timeout', 'retry', 'backoff', 'socket', 'stream', 'buffer', 'lock', 'event', 'barrier', 'pool'];

function words(key: number, from: number, n: number): string {
  const out: string[] = [];
  for (let k = 0; k < n; k++) out.push(WORDS[pick(key, from + k, WORDS.length)] ?? 'lab');
  return out.join(' ');
}

/** User `id` (1-based). */
export function user(seed: number, id: number): LabUser {
  const key = hash32(`user\0${id}`, seed);
  const first = FIRST[pick(key, 0, FIRST.length)] ?? 'Ada';
  const last = LAST[pick(key, 1, LAST.length)] ?? 'Lovelace';
  const username = `${first.toLowerCase()}${id}`;
  return {
    id,
    name: `${first} ${last}`,
    username,
    email: `${username}@example.test`,
    city: CITIES[pick(key, 2, CITIES.length)] ?? 'Lisbon',
    company: `${last} ${['Labs', 'Systems', 'Works', 'Group'][pick(key, 3, 4)] ?? 'Labs'}`,
  };
}

/** The posts of user `userId`. */
export function postsOf(seed: number, userId: number): LabPost[] {
  const out: LabPost[] = [];
  for (let k = 1; k <= POSTS_PER_USER; k++) out.push(post(seed, (userId - 1) * POSTS_PER_USER + k));
  return out;
}

/** Post `id` (1-based). */
export function post(seed: number, id: number): LabPost {
  const key = hash32(`post\0${id}`, seed);
  return { id, userId: Math.floor((id - 1) / POSTS_PER_USER) + 1, title: words(key, 0, 4), body: words(key, 10, 16) };
}
