/**
 * The Crossbook CrossGuard policy pack. Pulumi runs this file when a preview or an update is
 * given `--policy-pack policy`; the rules live in policies.ts (unit-tested without Pulumi).
 */
import { PolicyPack } from '@pulumi/policy';
import { policies } from './policies.ts';

new PolicyPack('crossbook', {
  description:
    'The rules every Crossbook environment must satisfy: private and encrypted data, durable storage, a well-placed core.',
  enforcementLevel: 'mandatory',
  policies,
});
