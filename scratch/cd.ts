import { createServer } from 'node:net';
import { request } from '../node_modules/undici/index.js';
const srv = createServer((s) => { s.once('data', () => { s.end('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Disposition: attachment; filename="a\x01b.txt"\r\n\r\nhello'); }); });
srv.listen(0, '127.0.0.1', async () => {
  const port = (srv.address() as any).port;
  try { const r = await request(`http://127.0.0.1:${port}/x`); console.log(r.statusCode, r.headers, await r.body.text()); } catch (e) { console.log('ERR', e); }
  srv.close();
});
