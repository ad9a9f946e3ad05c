/**
 * Runs the CrossGuard policy pack's rules without Pulumi: resource rules on one resource's
 * inputs, stack rules on every resource's outputs, the way the engine calls them.
 */
import type {
  PolicyResource,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from '@pulumi/policy';
import { policies } from '../../../policy/policies.ts';
import type { Registered } from './mocks.ts';

/** A resource as the rules see it. */
export interface Subject {
  /** Type token. */
  type: string;
  /** Logical name. */
  name: string;
  /** Inputs (resource rules). */
  inputs: Record<string, unknown>;
  /** Outputs (stack rules); default: the inputs. */
  outputs?: Record<string, unknown>;
  /** The provider reference, to tell clusters apart. */
  provider?: string;
  /** Property dependencies: property name -> names of the subjects it was computed from. */
  propertyDependencies?: Record<string, string[]>;
}

/** One reported violation. */
export interface Violation {
  /** The policy's name. */
  policy: string;
  /** Its enforcement level. */
  level: string;
  /** The resource it names, if any. */
  resource: string | undefined;
  /** The message. */
  message: string;
}

const OPTIONS = {
  protect: false,
  ignoreChanges: [],
  aliases: [],
  customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
  additionalSecretOutputs: [],
};

function urnOf(subject: Subject): string {
  return `urn:pulumi:test::crossbook::${subject.type}::${subject.name}`;
}

function common() {
  return {
    stackTags: new Map<string, string>(),
    getConfig: <T extends object>() => ({}) as T,
    notApplicable: (reason?: string): never => {
      throw new Error(`not applicable: ${reason ?? ''}`);
    },
  };
}

/** The subjects of a program run: each registered custom resource. */
export function subjectsOf(resources: readonly Registered[]): Subject[] {
  return resources
    .filter((r) => r.custom)
    .map((r) => ({
      type: r.type,
      name: r.name,
      inputs: r.inputs,
      outputs: { ...r.state, id: r.id },
      provider: r.provider,
    }));
}

/** Every violation the pack reports for these resources. */
export async function evaluate(subjects: readonly Subject[]): Promise<Violation[]> {
  const found: Violation[] = [];
  const stackResources: PolicyResource[] = subjects.map((s) => ({
    type: s.type,
    name: s.name,
    urn: urnOf(s),
    props: s.outputs ?? s.inputs,
    opts: OPTIONS,
    provider:
      s.provider === undefined
        ? undefined
        : { type: 'pulumi:providers:x', name: s.provider, urn: s.provider, props: {} },
    dependencies: [],
    propertyDependencies: {},
    isType: () => false,
    asType: () => undefined,
  }));
  const byName = new Map(stackResources.map((r) => [r.name, r]));
  for (const [i, s] of subjects.entries()) {
    const resource = stackResources[i];
    for (const [property, names] of Object.entries(s.propertyDependencies ?? {})) {
      const dependencies = names
        .map((n) => byName.get(n))
        .filter((r): r is PolicyResource => r !== undefined);
      if (resource !== undefined) {
        resource.propertyDependencies[property] = dependencies;
        resource.dependencies.push(...dependencies);
      }
    }
  }
  for (const policy of policies) {
    const level = policy.enforcementLevel ?? 'advisory';
    if ('validateResource' in policy && policy.validateResource !== undefined) {
      const validate = (policy as ResourceValidationPolicy).validateResource;
      const validators = Array.isArray(validate) ? validate : [validate];
      for (const subject of subjects) {
        const args: ResourceValidationArgs = {
          ...common(),
          type: subject.type,
          name: subject.name,
          urn: urnOf(subject),
          props: subject.inputs,
          opts: OPTIONS,
          isType: () => false,
          asType: () => undefined,
        };
        for (const validator of validators) {
          await validator?.(args, (message) =>
            found.push({ policy: policy.name, level, resource: subject.name, message }),
          );
        }
      }
    }
    if ('validateStack' in policy && policy.validateStack !== undefined) {
      const args: StackValidationArgs = { ...common(), resources: stackResources };
      const validateStack = (policy as StackValidationPolicy).validateStack;
      await validateStack?.(args, (message, urn) =>
        found.push({ policy: policy.name, level, resource: urn?.split('::').pop(), message }),
      );
    }
  }
  return found;
}

/** The mandatory violations only. */
export async function mandatoryViolations(subjects: readonly Subject[]): Promise<Violation[]> {
  return (await evaluate(subjects)).filter((v) => v.level === 'mandatory');
}
