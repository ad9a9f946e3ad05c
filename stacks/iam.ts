/**
 * IAM helpers shared by the components: IAM roles for Kubernetes service accounts (IRSA), and
 * small policy-document builders. They create resources under the caller's parent.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';

/** One IAM policy statement. */
export interface Statement {
  /** The actions allowed. */
  actions: string[];
  /** The resources they apply to. */
  resources: pulumi.Input<pulumi.Input<string>[]>;
}

/** An IAM policy document (JSON) allowing the given statements. */
export function policyDocument(statements: Statement[]): pulumi.Output<string> {
  return pulumi.all(statements.map((s) => pulumi.output(s.resources))).apply((resources) =>
    JSON.stringify({
      Version: '2012-10-17',
      Statement: statements.map((s, i) => ({ Effect: 'Allow', Action: s.actions, Resource: resources[i] })),
    }),
  );
}

/** A trust policy letting an AWS service assume a role. */
export function serviceTrustPolicy(service: string, conditions?: Record<string, unknown>): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Service: service },
        Action: 'sts:AssumeRole',
        ...(conditions === undefined ? {} : { Condition: conditions }),
      },
    ],
  });
}

/** Where a Kubernetes service account lives and which cluster's OIDC provider vouches for it. */
export interface ServiceAccountIdentity {
  /** The ARN of the cluster's IAM OIDC provider. */
  oidcProviderArn: pulumi.Input<string>;
  /** The OIDC issuer without `https://`. */
  oidcIssuer: pulumi.Input<string>;
  /** The service account's namespace. */
  namespace: pulumi.Input<string>;
  /** The service account's name. */
  serviceAccount: pulumi.Input<string>;
}

/** Options of {@link serviceAccountRole}. */
export interface ServiceAccountRoleArgs extends ServiceAccountIdentity {
  /** AWS managed (or other) policy ARNs to attach. */
  managedPolicyArns?: string[];
  /** Inline statements. */
  statements?: Statement[];
}

/**
 * An IAM role that exactly one Kubernetes service account can assume through the cluster's
 * OIDC provider (IRSA), with the given policies.
 */
export function serviceAccountRole(
  name: string,
  args: ServiceAccountRoleArgs,
  opts: pulumi.CustomResourceOptions,
): aws.iam.Role {
  const assumeRolePolicy = pulumi
    .all([args.oidcProviderArn, args.oidcIssuer, args.namespace, args.serviceAccount])
    .apply(([providerArn, issuer, namespace, serviceAccount]) =>
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Federated: providerArn },
            Action: 'sts:AssumeRoleWithWebIdentity',
            Condition: {
              StringEquals: {
                [`${issuer}:sub`]: `system:serviceaccount:${namespace}:${serviceAccount}`,
                [`${issuer}:aud`]: 'sts.amazonaws.com',
              },
            },
          },
        ],
      }),
    );
  const role = new aws.iam.Role(name, { assumeRolePolicy }, opts);
  for (const [i, policyArn] of (args.managedPolicyArns ?? []).entries()) {
    new aws.iam.RolePolicyAttachment(`${name}-managed-${i}`, { role: role.name, policyArn }, opts);
  }
  if (args.statements !== undefined && args.statements.length > 0) {
    new aws.iam.RolePolicy(
      `${name}-inline`,
      { role: role.id, policy: policyDocument(args.statements) },
      opts,
    );
  }
  return role;
}

/** The ARN of an AWS managed policy. */
export function managedPolicy(policyName: string): string {
  return `arn:aws:iam::aws:policy/${policyName}`;
}
