// Seeds: the API data pipeline — fetch the users, then each user's details and posts
// concurrently, and combine them. A task group runs the fan-out: if one fetch fails, the rest are
// cancelled and the error surfaces, instead of leaving requests running.
import { startLab } from '../../src/lab/index.ts';
import { Session } from '../../src/http/index.ts';
import { TaskGroup, gather } from '../../src/core/index.ts';

interface User { id: number; name: string; city: string }
interface Post { id: number; title: string }

await using lab = await startLab({ users: 5 });
await using api = new Session({ baseUrl: lab.url, perHost: { concurrency: 4 } });

const users = await api.getJson<User[]>('/users');
const profiles = await TaskGroup.run(async (group) => {
  const tasks = users.map((u) => group.spawn(async ({ signal }) => {
    const [details, posts] = await gather([
      api.getJson<User>(`/users/${u.id}`, { signal }),
      api.getJson<Post[]>(`/users/${u.id}/posts`, { signal }),
    ]);
    return { name: details.name, city: details.city, posts: posts.length };
  }));
  return Promise.all(tasks);
});
for (const p of profiles) console.log(`${p.name.padEnd(20)} ${p.city.padEnd(12)} ${p.posts} posts`);
console.log(`${profiles.length} users, ${api.metrics()[0]!.requests} requests`);
