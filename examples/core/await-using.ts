// Seeds: AsyncResource / AsyncDatabaseConnection, async context managers. spate: Symbol.asyncDispose and
// `await using` — released however the scope ends, several in reverse order with AsyncDisposableStack.
import { Lock, sleep } from '../../src/core/index.ts';

class AsyncResource implements AsyncDisposable {
  readonly name: string;
  private constructor(name: string) {
    this.name = name;
  }

  /** __aenter__: acquiring is async, so it is a factory, not the constructor. */
  static async open(name: string, { fail = false } = {}): Promise<AsyncResource> {
    console.log(`Acquiring ${name}`);
    await sleep(20);
    if (fail) throw new Error(`could not open ${name}`);
    return new AsyncResource(name);
  }

  async doWork({ fail = false } = {}): Promise<string> {
    console.log(`Working with ${this.name}`);
    await sleep(50);
    if (fail) throw new Error('Something went wrong');
    return `Results for: SELECT * FROM users`;
  }

  /** __aexit__: runs when the scope ends, however it ends. */
  async [Symbol.asyncDispose](): Promise<void> {
    console.log(`Releasing ${this.name}`);
    await sleep(20);
  }
}

{
  await using db = await AsyncResource.open('Database Connection');
  console.log(await db.doWork());
}
console.log('Context manager completed');

// An error in the body: the resource is released first, then the error reaches the caller.
try {
  await using resource = await AsyncResource.open('Resource');
  await resource.doWork({ fail: true });
} catch (error) {
  console.log(`Caught error: ${(error as Error).message}`);
}

// Several resources: the ones opened are released in reverse order when a later one fails.
try {
  await using stack = new AsyncDisposableStack();
  stack.use(await AsyncResource.open('cache'));
  stack.use(await AsyncResource.open('database'));
  stack.use(await AsyncResource.open('queue', { fail: true }));
} catch (error) {
  console.log(`Caught error: ${(error as Error).message}`);
}

// spate's own resources work the same way: a lock permit is released at the end of the block.
const lock = new Lock();
{
  using _permit = await lock.acquire();
  console.log(`inside: lock held = ${lock.locked()}`);
}
console.log(`after: lock held = ${lock.locked()}`);
