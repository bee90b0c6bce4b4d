"""The seeds' Python servers, as the serve group's peers (protocol: bench/serve/child.ts).
Usage: python3 serve_servers.py api | ws | tcp

Each prints {"url": ...} once it listens on 127.0.0.1 (a free port), exits when its stdin closes
or on SIGTERM, and prints {"connections": n} on SIGUSR2. Changes from the seeds, all of them:
- api: the seeds' AsyncAPIService with its artificial sleeps removed (`/echo` slept 0.1 s, `/slow`
  and `/data` are not benchmarked) and bound to port 0; nothing else changed.
- ws: the seeds' chat_server / notify_all verbatim, except that the handler's `path` argument
  has a default (websockets >= 10.1 calls one-argument handlers).
- tcp: the seeds' handle_client without its print() per connection and per message (the spate
  server logs nothing either), plus a count of open connections (for SIGUSR2) and a quiet end
  when a client resets its connection.
"""
import asyncio
import json
import os
import signal
import sys
import threading
import time


def announce(url, connections):
    print(json.dumps({'url': url}), flush=True)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGUSR2, lambda: print(json.dumps({'connections': connections()}), flush=True))
    loop.add_signal_handler(signal.SIGTERM, lambda: os._exit(0))


def exit_when_stdin_closes():
    def watch():
        sys.stdin.buffer.read()
        os._exit(0)
    threading.Thread(target=watch, daemon=True).start()


# ---- api: the seeds' AsyncAPIService ---------------------------------------------------------

async def api():
    from aiohttp import web

    class AsyncAPIService:
        def __init__(self):
            self.app = web.Application()
            self.setup_routes()

        def setup_routes(self):
            self.app.router.add_get('/health', self.health_check)
            self.app.router.add_post('/echo', self.echo_endpoint)

        async def health_check(self, request):
            return web.json_response({
                'status': 'healthy',
                'timestamp': time.time()
            })

        async def echo_endpoint(self, request):
            data = await request.json()
            # (the seed's `await asyncio.sleep(0.1)` "processing time" is removed)
            return web.json_response({
                'received': data,
                'processed': True,
                'timestamp': time.time()
            })

    service = AsyncAPIService()
    runner = web.AppRunner(service.app)
    await runner.setup()
    site = web.TCPSite(runner, '127.0.0.1', 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    announce(f'http://127.0.0.1:{port}', lambda: -1)
    await asyncio.Event().wait()


# ---- ws: the seeds' chat_server / notify_all -------------------------------------------------

async def ws():
    import websockets

    connected_clients = set()

    async def chat_server(websocket, path=None):
        connected_clients.add(websocket)
        try:
            await notify_all(f"[系统] 新用户加入,当前用户数: {len(connected_clients)}")
            async for message in websocket:
                await notify_all(f"[用户] {message}")
        finally:
            connected_clients.remove(websocket)
            await notify_all(f"[系统] 用户离开,当前用户数: {len(connected_clients)}")

    async def notify_all(message):
        if connected_clients:
            await asyncio.gather(
                *[client.send(message) for client in connected_clients]
            )

    server = await websockets.serve(chat_server, '127.0.0.1', 0)
    port = next(iter(server.sockets)).getsockname()[1]
    announce(f'ws://127.0.0.1:{port}/', lambda: len(connected_clients))
    await server.wait_closed()


# ---- tcp: the seeds' asyncio echo server -----------------------------------------------------

async def tcp():
    open_connections = [0]

    async def handle_client(reader, writer):
        open_connections[0] += 1
        try:
            while True:
                data = await reader.read(1024)
                if not data:
                    break
                message = data.decode()
                writer.write(f"Echo: {message}".encode())
                await writer.drain()
            writer.close()
            await writer.wait_closed()
        except ConnectionError:
            pass
        finally:
            open_connections[0] -= 1

    server = await asyncio.start_server(handle_client, '127.0.0.1', 0)
    port = server.sockets[0].getsockname()[1]
    announce(f'tcp://127.0.0.1:{port}', lambda: open_connections[0])
    async with server:
        await server.serve_forever()


def main():
    exit_when_stdin_closes()
    servers = {'api': api, 'ws': ws, 'tcp': tcp}
    which = sys.argv[1] if len(sys.argv) > 1 else ''
    if which not in servers:
        raise SystemExit(f'unknown server {which!r}; one of {", ".join(servers)}')
    asyncio.run(servers[which]())


main()
