/**
 * The gateway benchmark's floor: a bare uWebSockets.js server (the same native package the
 * gateway runs on) that answers every request with a small fixed JSON body the size of an ACK
 * order reply, without reading parameters, signatures or anything else. What the load
 * generator reaches against it is what this machine and the load generator allow. Run as a
 * child of gateway.bench.ts; prints `listening <port>` on stdout, stops on SIGTERM.
 */
import uWS from 'uWebSockets.js';

const BODY = JSON.stringify({
  symbol: 'BTCUSDT',
  orderId: 1,
  orderListId: -1,
  clientOrderId: 'hello0world0hello0worl',
  transactTime: 1_700_000_000_000,
});

const app = uWS.App();
app.any('/*', (res) => {
  res.cork(() => {
    res.writeStatus('200 OK');
    res.writeHeader('Content-Type', 'application/json;charset=UTF-8');
    res.end(BODY);
  });
});
app.listen('127.0.0.1', Number(process.env.PORT ?? 0), (socket) => {
  if (socket === false) {
    process.stderr.write('gateway-hello: cannot listen\n');
    process.exit(1);
  }
  const port = uWS.us_socket_local_port(socket as unknown as uWS.us_socket);
  process.stdout.write(`listening ${port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
