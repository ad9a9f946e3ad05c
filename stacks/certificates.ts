import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';

/** The region CloudFront takes its certificates from. */
export const CLOUDFRONT_REGION = 'us-east-1';

/** Arguments of {@link Certificates}. */
export interface CertificatesArgs {
  /** The domain; certificates cover it and `*.<domain>`. */
  domain: pulumi.Input<string>;
  /** The Route 53 zone that answers for the domain (DNS validation). */
  hostedZoneId: pulumi.Input<string>;
  /**
   * The regions that need a certificate (load balancers and API Gateway domains); CloudFront's
   * region is added. Plain: it decides how many certificates exist.
   */
  regions: string[];
  /** Key algorithm of issued certificates. Default `RSA_2048`. */
  keyAlgorithm?: pulumi.Input<string>;
  /** Existing certificate ARNs by region, used instead of issuing one. Plain for the same reason. Default `{}`. */
  existingArns?: Record<string, string>;
}

/**
 * The TLS certificates of the edge: one ACM certificate per region that terminates TLS (the
 * load balancers and the regional API Gateway domains) plus one in us-east-1 for CloudFront,
 * each for the domain and its wildcard, validated through DNS. ACM's validation record for a
 * name is the same in every region, so one Route 53 record validates them all.
 */
export class Certificates extends pulumi.ComponentResource {
  /** Validated certificate ARNs by region (including CloudFront's). */
  public readonly arns: Record<string, pulumi.Output<string>>;
  /** The certificate CloudFront uses. */
  public readonly cloudFrontCertificateArn: pulumi.Output<string>;
  /** The issued certificates by region. */
  public readonly issued: Record<string, aws.acm.Certificate>;

  constructor(name: string, args: CertificatesArgs, opts?: pulumi.ComponentResourceOptions) {
    super('crossbook:stacks:Certificates', name, {}, opts);
    const regions = [...new Set([...args.regions, CLOUDFRONT_REGION])];
    const existing = args.existingArns ?? {};
    this.issued = {};
    this.arns = {};
    let validationRecord: aws.route53.Record | undefined;
    for (const region of regions) {
      const given = existing[region];
      if (given !== undefined) {
        this.arns[region] = pulumi.output(given);
        continue;
      }
      const certificate = new aws.acm.Certificate(
        `${name}-${region}`,
        {
          region,
          domainName: args.domain,
          subjectAlternativeNames: [pulumi.interpolate`*.${args.domain}`],
          validationMethod: 'DNS',
          keyAlgorithm: args.keyAlgorithm ?? 'RSA_2048',
        },
        { parent: this },
      );
      this.issued[region] = certificate;
      if (validationRecord === undefined) {
        const option = certificate.domainValidationOptions.apply((options) => {
          const first = options[0];
          if (first === undefined) {
            throw new Error('ACM returned no DNS validation options');
          }
          return first;
        });
        validationRecord = new aws.route53.Record(
          `${name}-validation`,
          {
            zoneId: args.hostedZoneId,
            name: option.resourceRecordName,
            type: option.resourceRecordType,
            records: [option.resourceRecordValue],
            ttl: 300,
            allowOverwrite: true,
          },
          { parent: this },
        );
      }
      const validation = new aws.acm.CertificateValidation(
        `${name}-${region}-validation`,
        { region, certificateArn: certificate.arn, validationRecordFqdns: [validationRecord.fqdn] },
        { parent: this },
      );
      this.arns[region] = validation.certificateArn;
    }
    this.cloudFrontCertificateArn = this.arns[CLOUDFRONT_REGION] as pulumi.Output<string>;
    this.registerOutputs({ arns: this.arns });
  }
}
