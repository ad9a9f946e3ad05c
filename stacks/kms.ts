import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';

/** Options of {@link customerManagedKey}. */
export interface KeyArgs {
  /** What the key encrypts. */
  description: pulumi.Input<string>;
  /** The alias, without `alias/`. */
  alias: pulumi.Input<string>;
  /** A region other than the provider's, for cross-region replicas. */
  region?: pulumi.Input<string>;
  /** A key policy; default: the account's root may use and administer the key. */
  policy?: pulumi.Input<string>;
}

/**
 * A customer-managed KMS key with yearly rotation and an alias: every data store of the
 * platform is encrypted with its own key, so that access can be granted (and revoked) per store.
 */
export function customerManagedKey(
  name: string,
  args: KeyArgs,
  opts: pulumi.CustomResourceOptions,
): aws.kms.Key {
  const key = new aws.kms.Key(
    name,
    {
      description: args.description,
      enableKeyRotation: true,
      deletionWindowInDays: 30,
      region: args.region,
      policy: args.policy,
    },
    opts,
  );
  new aws.kms.Alias(
    `${name}-alias`,
    { name: pulumi.interpolate`alias/${args.alias}`, targetKeyId: key.keyId, region: args.region },
    opts,
  );
  return key;
}
