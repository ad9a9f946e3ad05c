import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';

/** Arguments of {@link generatedSecret}. */
export interface GeneratedSecretArgs {
  /** What the secret is for. */
  description: pulumi.Input<string>;
  /** The secret's name in Secrets Manager, e.g. `crossbook/prod/redis`. */
  secretName: pulumi.Input<string>;
  /** The KMS key encrypting the secret. Default: the account's `aws/secretsmanager` key. */
  kmsKeyId?: pulumi.Input<string>;
  /** Length of the generated password. Default 40. */
  length?: number;
  /** Fields stored beside `password` in the secret's JSON document. Default none. */
  fields?: Record<string, pulumi.Input<string>>;
  /** A region other than the provider's. */
  region?: pulumi.Input<string>;
  /** A read replica of the secret in another region (same name), and the key encrypting it there. Default none. */
  replica?: { region: pulumi.Input<string>; kmsKeyId: pulumi.Input<string> };
}

/** A Secrets Manager secret holding a generated password. */
export interface GeneratedSecret {
  /** The secret. */
  readonly secret: aws.secretsmanager.Secret;
  /** The version holding the generated document. */
  readonly version: aws.secretsmanager.SecretVersion;
  /** The password (a Pulumi secret). */
  readonly password: pulumi.Output<string>;
  /** The secret's name (the same in every region it is replicated to). */
  readonly secretName: pulumi.Output<string>;
}

/**
 * A Secrets Manager secret whose password Secrets Manager generates (GetRandomPassword) on
 * the first deployment. Later deployments draw a new random value but ignore it, so the
 * stored password, and everything configured from it, stays put until an operator rotates it.
 * Alphanumeric only: it is used in connection URLs and Redis AUTH.
 */
export function generatedSecret(
  name: string,
  args: GeneratedSecretArgs,
  opts: pulumi.CustomResourceOptions,
): GeneratedSecret {
  const secret = new aws.secretsmanager.Secret(
    name,
    {
      name: args.secretName,
      description: args.description,
      kmsKeyId: args.kmsKeyId,
      recoveryWindowInDays: 7,
      region: args.region,
      replicas: args.replica === undefined ? [] : [args.replica],
    },
    opts,
  );
  const random = aws.secretsmanager.getRandomPasswordOutput(
    { passwordLength: args.length ?? 40, excludePunctuation: true, includeSpace: false, region: args.region },
    opts,
  );
  const version = new aws.secretsmanager.SecretVersion(
    `${name}-version`,
    {
      secretId: secret.id,
      secretString: pulumi.secret(
        pulumi
          .all([random.randomPassword, pulumi.all(args.fields ?? {})])
          .apply(([password, fields]) => JSON.stringify({ ...fields, password })),
      ),
      region: args.region,
    },
    { ...opts, ignoreChanges: ['secretString'] },
  );
  const password = pulumi.secret(
    version.secretString.apply((text) =>
      String((JSON.parse(text ?? '{}') as { password?: string }).password ?? ''),
    ),
  );
  return { secret, version, password, secretName: secret.name };
}
