import assert from 'node:assert/strict';
import * as k8s from '@pulumi/kubernetes';
import type * as ObservabilityModule from '../../stacks/observability.ts';
import { installMocks, ofType, recorded, resolved, settle } from './support/mocks.ts';

installMocks();

describe('observability', () => {
  let obs: ObservabilityModule.Observability;

  before(async () => {
    const { Observability } = await import('../../stacks/observability.ts');
    const provider = new k8s.Provider('obs-k8s', { kubeconfig: '{}' });
    obs = new Observability('obs', {
      environment: 'test',
      clusterName: 'crossbook-test',
      controlPlaneLogGroupName: '/aws/eks/crossbook-test/cluster',
      oidcProviderArn: 'arn:aws:iam::123456789012:oidc-provider/x',
      oidcIssuer: 'oidc.eks.us-east-1.amazonaws.com/id/x',
      kubernetesProvider: provider,
      albArnSuffix: 'app/gw/1',
      dbClusterIdentifier: 'accounts',
      redisNodeIds: ['md-0001-001', 'md-0001-002', 'md-0002-001', 'md-0002-002'],
      kinesisStreamName: 'md',
      kinesisConsumerName: 'downstream',
      tradesTableName: 'trades',
      alarmEmail: 'oncall@example.com',
      logShipping: { destinationArn: 'arn:aws:firehose:x', roleArn: 'arn:aws:iam::1:role/logs' },
    });
    await settle();
  });

  it('must alarm on order latency, 5xx, journal lag, Aurora, Redis and Kinesis iterator age', async () => {
    assert.deepEqual(
      Object.keys(obs.alarms).sort(),
      [
        'auroraCpu',
        'auroraReplicaLag',
        'http5xx',
        'journalLag',
        'kinesisIteratorAge',
        'kinesisPollingAge',
        'orderLatency',
        'redisCpu',
        'redisMemory',
        'tradesThrottled',
      ].sort(),
    );
    assert.equal(await resolved(obs.alarms.orderLatency!.extendedStatistic), 'p99');
    assert.equal(await resolved(obs.alarms.orderLatency!.threshold), 0.005);
    assert.equal(
      await resolved(obs.alarms.kinesisIteratorAge!.metricName),
      'SubscribeToShardEvent.MillisBehindLatest',
    );
  });

  it('must watch the busiest Redis node, whichever it is', async () => {
    const queries = (await resolved(obs.alarms.redisCpu!.metricQueries)) ?? [];
    assert.equal(queries.filter((q) => q.metric !== undefined).length, 4);
    assert.equal(queries.find((q) => q.returnData)?.expression, 'MAX([m0,m1,m2,m3])');
  });

  it('must send every alarm to the on-call topic', async () => {
    const topic = await resolved(obs.alarmTopic.arn);
    for (const alarm of Object.values(obs.alarms)) {
      assert.deepEqual(await resolved(alarm.alarmActions), [topic]);
    }
    assert.equal(ofType(recorded(), 'aws:sns/topicSubscription:TopicSubscription', 'obs-').length, 1);
  });

  it('must trace through an OpenTelemetry collector into X-Ray', async () => {
    const volumes = (await resolved(obs.collector.spec)).template.spec?.volumes;
    assert.equal(volumes?.[0]?.configMap?.name, 'otel-collector');
    const map = ofType(recorded(), 'kubernetes:core/v1:ConfigMap', 'obs-otel-config')[0];
    const data = (map?.inputs.data ?? {}) as Record<string, string>;
    const collector = JSON.parse(data['config.yaml'] ?? '{}');
    assert.deepEqual(collector.service.pipelines.traces.exporters, ['awsxray']);
    assert.deepEqual(collector.service.pipelines.metrics.exporters, ['awsemf']);
    assert.equal(
      await resolved(obs.otlpEndpoint),
      'http://otel-collector.observability.svc.cluster.local:4318',
    );
    assert.equal(await resolved(obs.samplingRule.fixedRate), 0.05);
  });

  it('the collector must have limits, probes and a disruption budget', async () => {
    const container = (await resolved(obs.collector.spec)).template.spec?.containers[0];
    assert.ok(container?.resources?.limits?.cpu && container.resources.limits.memory);
    assert.ok(container.readinessProbe && container.livenessProbe);
    assert.equal((await resolved(obs.collectorBudget.spec)).maxUnavailable, 1);
  });

  it("must keep the containers' logs with a retention and ship them to S3", async () => {
    assert.equal(await resolved(obs.logGroups.application!.retentionInDays), 30);
    const filters = ofType(recorded(), 'aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter', 'obs-');
    assert.deepEqual(filters.map((f) => f.inputs.logGroup).sort(), [
      '/aws/containerinsights/crossbook-test/application',
      '/aws/eks/crossbook-test/cluster',
    ]);
  });
});
