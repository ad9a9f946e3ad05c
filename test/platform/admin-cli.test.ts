import assert from 'node:assert/strict';
import { adminEndpoint, parseAdminCommand, UsageError } from '../../platform/admin-cli.ts';

describe('admin command line', () => {
  it('turns users create with deposits and a KYC tier into one admin call', () => {
    assert.deepEqual(
      parseAdminCommand([
        'users',
        'create',
        '--email',
        'a@b.co',
        '--deposit',
        'USDT=10000',
        '--deposit=BTC=1.5',
        '--kyc',
        '2',
      ]),
      {
        method: 'POST',
        path: '/admin/v1/users',
        body: {
          email: 'a@b.co',
          password: undefined,
          deposits: [
            { asset: 'USDT', amount: '10000' },
            { asset: 'BTC', amount: '1.5' },
          ],
          kycTier: 2,
        },
      },
    );
  });

  it('maps every operator command to its admin path', () => {
    const paths = [
      [
        ['deposits', 'credit', '--user', '7', '--asset', 'BTC', '--amount', '1', '--tx', 'abc'],
        'POST /admin/v1/deposits',
      ],
      [['kyc', 'pending'], 'GET /admin/v1/kyc/pending'],
      [['kyc', 'view', '--id', '3'], 'POST /admin/v1/kyc/view'],
      [['users', 'disable', '--user', '3', '--reason', 'fraud'], 'POST /admin/v1/users/status'],
      [['kyc', 'approve', '--id', '3'], 'POST /admin/v1/kyc/approve'],
      [['kyc', 'reject', '--id', '3', '--reason', 'blurred'], 'POST /admin/v1/kyc/reject'],
      [['withdrawals', 'pending'], 'GET /admin/v1/withdrawals/pending'],
      [['withdrawals', 'approve', '--id', '9'], 'POST /admin/v1/withdrawals/approve'],
      [['withdrawals', 'reject', '--id', '9', '--reason', 'aml'], 'POST /admin/v1/withdrawals/reject'],
      [['shards', 'list'], 'GET /admin/v1/shards'],
      [['shards', 'move', 'ETHUSDT', '0'], 'POST /admin/v1/shards/move'],
      [['state', 'hash'], 'GET /admin/v1/state/hash'],
      [['state', 'verify'], 'POST /admin/v1/state/verify'],
      [['snapshot'], 'POST /admin/v1/snapshot'],
      [['audit', 'verify'], 'GET /admin/v1/audit/verify'],
      [['ledger', 'check'], 'GET /admin/v1/ledger/check'],
    ] as const;
    for (const [argv, expected] of paths) {
      const call = parseAdminCommand(argv);
      assert.equal(`${call.method} ${call.path}`, expected, argv.join(' '));
    }
  });

  it('refuses bad usage with a message that says what was expected', () => {
    const bad: [string[], RegExp][] = [
      [['users', 'create'], /--email is required/],
      [['users', 'create', '--email', 'a@b.co', '--deposit', 'USDT:5'], /ASSET=AMOUNT/],
      [['users', 'create', '--email', 'a@b.co', '--kyc', '3'], /0, 1 or 2/],
      [['users', 'create', '--email', 'a@b.co', '--email', 'c@d.co'], /more than once/],
      [['kyc', 'approve', '--id', '-1'], /positive integer/],
      [['kyc', 'reject', '--id', '1'], /--reason is required/],
      [['shards', 'move', 'ETHUSDT'], /usage: shards move/],
      [['deposits', 'credit', '--user'], /needs a value/],
      [['launch', 'rockets'], /commands:/],
    ];
    for (const [argv, message] of bad)
      assert.throws(
        () => parseAdminCommand(argv),
        (e: Error) => e instanceof UsageError && message.test(e.message),
        argv.join(' '),
      );
  });

  it('finds the admin API from the environment', () => {
    assert.deepEqual(adminEndpoint({ CROSSBOOK_ADMIN_TOKEN: 't0k', PORT: '9000' }), {
      url: 'http://127.0.0.1:9000',
      token: 't0k',
    });
    assert.throws(
      () => adminEndpoint({ CROSSBOOK_DATA_DIR: '/nonexistent-crossbook' }),
      /no CROSSBOOK_ADMIN_TOKEN/,
    );
  });
});
