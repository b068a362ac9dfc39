// The one source of canopy's data shapes. Each TypeBox value below is a JSON Schema; `Static`
// derives the TypeScript type from it, so the two cannot drift. `npm run build` writes the
// schemas to schemas/*.schema.json for editors and other tools (test/unit/schemas checks they
// are current).
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { StringEnum } from './string-enum.js';
import { ROOT_POLICIES, CLUSTER_POLICIES, ROOT_POLICY_SUMMARIES, CLUSTER_POLICY_SUMMARIES, describePolicies } from './policies.js';

const Name = Type.String({
  pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$',
  description: 'lower-case DNS label: letters, digits and -, at most 63 characters',
});
const Labels = Type.Record(Type.String({ pattern: '^[A-Za-z0-9._/-]{1,63}$' }), Type.String({ maxLength: 253 }), {
  description: 'key: value labels',
  additionalProperties: false,
});
const Quantity = Type.Union([Type.Number({ minimum: 0 }), Type.String({ pattern: '^[0-9]+(\\.[0-9]+)?(Ki|Mi|Gi|Ti|k|K|M|G|T)?$' })], {
  description: 'bytes, or a number with a unit: 128Mi, 1Gi, 500M',
});
export const Point = Type.Object(
  {
    lat: Type.Number({ minimum: -90, maximum: 90 }),
    lon: Type.Number({ minimum: -180, maximum: 180 }),
  },
  { additionalProperties: false },
);

export const Resources = Type.Object(
  {
    cpu: Type.Optional(Type.Number({ minimum: 0, maximum: 1024, description: 'cores for one replica' })),
    memory: Type.Optional(Quantity),
    gpu: Type.Optional(Type.Integer({ minimum: 0, maximum: 64 })),
    storage: Type.Optional(Quantity),
    arch: Type.Optional(Type.Array(StringEnum(['amd64', 'arm64', 'arm', '386', 'riscv64'] as const), { minItems: 1, uniqueItems: true })),
  },
  { additionalProperties: false },
);

/** Which clusters: by name, by labels, by operator (all that are given must hold). */
export const ClusterSelector = Type.Object(
  {
    names: Type.Optional(Type.Array(Name, { minItems: 1, uniqueItems: true })),
    matchLabels: Type.Optional(Labels),
    operator: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false },
);

export const Constraints = Type.Object(
  {
    geo: Type.Optional(
      Type.Object(
        {
          lat: Type.Number({ minimum: -90, maximum: 90 }),
          lon: Type.Number({ minimum: -180, maximum: 180 }),
          withinKm: Type.Number({ exclusiveMinimum: 0, maximum: 20040 }),
        },
        { additionalProperties: false },
      ),
    ),
    latency: Type.Optional(
      Type.Object(
        {
          to: Type.Union([Point, Type.Object({ target: Name }, { additionalProperties: false })]),
          maxMs: Type.Number({ exclusiveMinimum: 0, maximum: 60000 }),
        },
        { additionalProperties: false },
      ),
    ),
    clusters: Type.Optional(ClusterSelector),
    nodes: Type.Optional(
      Type.Object(
        {
          matchLabels: Type.Optional(Labels),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export const Port = Type.Object(
  {
    port: Type.Integer({ minimum: 1, maximum: 65535, description: 'the port the workload listens on' }),
    hostPort: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 65535, description: "published on the node's address at this port; two replicas wanting one never share a node" }),
    ),
    protocol: Type.Optional(StringEnum(['tcp', 'udp'] as const, { description: 'tcp (the default) or udp' })),
  },
  { additionalProperties: false },
);

export const Volume = Type.Object(
  {
    name: Name,
    path: Type.String({
      minLength: 1,
      maxLength: 4096,
      description: 'where it is mounted (a container: an absolute path); a process finds its directory in CANOPY_VOLUME_<NAME>',
    }),
    retain: Type.Optional(Type.Boolean({ description: 'true: canopy never removes its data, even when the service is deleted' })),
  },
  { additionalProperties: false },
);

const ProbePort = Type.Integer({ minimum: 1, maximum: 65535, description: 'the port the workload listens on (a process: on CANOPY_NODE_ADDRESS)' });
export const Health = Type.Object(
  {
    http: Type.Optional(
      Type.Object(
        {
          path: Type.String({ pattern: '^/' }),
          port: ProbePort,
          status: Type.Optional(Type.Integer({ minimum: 100, maximum: 599, description: 'the status that means ready (default: any 2xx or 3xx)' })),
        },
        { additionalProperties: false },
      ),
    ),
    tcp: Type.Optional(Type.Object({ port: ProbePort }, { additionalProperties: false })),
    exec: Type.Optional(
      Type.Object(
        { command: Type.Array(Type.String(), { minItems: 1, description: 'argv run in the workload (a container: docker exec); exit 0 is ready' }) },
        { additionalProperties: false },
      ),
    ),
    intervalSeconds: Type.Optional(Type.Number({ minimum: 1, maximum: 3600, description: 'between probes (default 10)' })),
    timeoutSeconds: Type.Optional(Type.Number({ minimum: 0.1, maximum: 600, description: 'a probe that takes longer fails (default 2)' })),
    failureThreshold: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'failures in a row that make a replica unready (default 3)' })),
    startSeconds: Type.Optional(
      Type.Number({ minimum: 0, maximum: 3600, description: 'grace after start: failures then do not restart the replica (default 0)' }),
    ),
  },
  { additionalProperties: false },
);

const SecretName = Type.String({
  pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$',
  description: 'a secret of the repository: secrets/<name>.yaml and secrets/<name>.age',
});
const SecretKey = Type.String({ pattern: '^[A-Za-z0-9_.-]{1,128}$', description: 'a key of the secret' });
/** One key of a secret, as an environment variable or as a file (exactly one of them). */
export const SecretRef = Type.Object(
  {
    secret: SecretName,
    key: SecretKey,
    env: Type.Optional(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$', description: 'the environment variable that holds the value' })),
    file: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 1024,
        pattern: '^[^\\0]*$',
        description: 'a file that holds the value, read-only: an absolute path in a container; for a process, relative to its working directory',
      }),
    ),
  },
  { additionalProperties: false },
);

/** A file of the fleet repository given to each replica, read-only (core/file-rules.ts). */
export const ConfigFile = Type.Object(
  {
    path: Type.String({
      minLength: 1,
      maxLength: 1024,
      pattern: '^[^\\0]*$',
      description: 'where the workload finds it, read-only: an absolute path in a container; for a process, relative to its working directory',
    }),
    from: Type.String({
      minLength: 1,
      maxLength: 1024,
      pattern: '^[^\\0]*$',
      description: 'a file of the fleet repository, relative to its root (config/web/nginx.conf): at most 256 KiB, 1 MiB for all of a service',
    }),
    oid: Type.Optional(
      Type.String({
        pattern: '^[0-9a-f]{40}$',
        description: 'set by canopy in what it hands down (the blob id of `from` at the commit); never written in a descriptor',
      }),
    ),
  },
  { additionalProperties: false },
);

export const ServiceSpec = Type.Object(
  {
    runtime: StringEnum(['container', 'process'] as const, { description: 'container (Docker) or process (a child process of the agent)' }),
    image: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 'container image; required for runtime container' })),
    imagePullPolicy: Type.Optional(
      StringEnum(['IfNotPresent', 'Always', 'Never'] as const, {
        description:
          'when the node pulls the image: IfNotPresent (default: when it lacks it), Always (before every start), Never (its own images only); runtime container only',
      }),
    ),
    command: Type.Optional(Type.Array(Type.String(), { minItems: 1, description: 'argv; required for runtime process' })),
    replicas: Type.Integer({ minimum: 0, maximum: 10000 }),
    resources: Type.Optional(Resources),
    constraints: Type.Optional(Constraints),
    spread: Type.Optional(
      StringEnum(['none', 'clusters', 'nodes'] as const, {
        description:
          "replicas over nodes and clusters: absent, over a cluster's nodes while nodes fit (two share a node only when no other fits); none, packed as the cluster's policy says; nodes, never two on one node (a replica with no node of its own is refused); clusters, over clusters and, inside each, over nodes as when absent",
      }),
    ),
    ports: Type.Optional(Type.Array(Port)),
    uses: Type.Optional(
      Type.Array(Type.String({ pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?/[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$' }), {
        description: 'services of other apps this one calls, as APP/NAME (its own app needs no declaration)',
      }),
    ),
    env: Type.Optional(Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }), Type.String(), { additionalProperties: false })),
    health: Type.Optional(Health),
    secrets: Type.Optional(
      Type.Array(SecretRef, {
        maxItems: 64,
        description: 'keys of secrets (secrets/<name>.yaml) given to each replica as an environment variable or a file',
      }),
    ),
    volumes: Type.Optional(
      Type.Array(Volume, {
        maxItems: 32,
        description: "each replica's own data, kept across new versions and restarts; its replica stays on its node while the node lives",
      }),
    ),
    files: Type.Optional(
      Type.Array(ConfigFile, {
        maxItems: 32,
        description: 'files of the fleet repository each replica sees read-only; a change to one rolls the replicas that use it',
      }),
    ),
    failover: Type.Optional(Type.Object({ afterSeconds: Type.Integer({ minimum: 0 }) }, { additionalProperties: false })),
    rollout: Type.Optional(
      Type.Object(
        {
          maxUnavailable: Type.Optional(Type.Integer({ minimum: 0, description: 'replicas of a cluster that may be unready during a rollout (default 1)' })),
          maxSurge: Type.Optional(Type.Integer({ minimum: 0, description: 'replicas a cluster may start above replicas during a rollout (default 1)' })),
          waves: Type.Optional(
            Type.Array(ClusterSelector, {
              maxItems: 32,
              description: 'ordered cluster selectors (names, matchLabels); clusters no wave names go in a last wave',
            }),
          ),
          bakeSeconds: Type.Optional(Type.Number({ minimum: 0, maximum: 86400, description: 'how long a wave stays ready before the next starts' })),
          progressDeadlineSeconds: Type.Optional(Type.Number({ minimum: 1, maximum: 86400, description: 'a wave not ready by then has failed' })),
          autoRollback: Type.Optional(Type.Boolean({ description: 'on failure, changed replicas go back to the last ready spec' })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export const ServiceDescriptor = Type.Object(
  {
    apiVersion: Type.Literal('canopy/v1'),
    kind: Type.Literal('Service'),
    metadata: Type.Object({ name: Name, app: Name, labels: Type.Optional(Labels) }, { additionalProperties: false }),
    spec: ServiceSpec,
  },
  { additionalProperties: false, $id: 'service.schema.json', title: 'canopy Service descriptor' },
);

/** An Ed25519 public key in OpenSSH's one-line form. */
export const SigningKey = Type.String({
  pattern: '^ssh-ed25519 [A-Za-z0-9+/]+={0,2}( [^\\n]*)?$',
  maxLength: 400,
  description: 'an Ed25519 public key as OpenSSH writes it: ssh-ed25519 AAAA… comment',
});
/** Any SSH public key git can verify a commit signature with. */
const SshPublicKey = Type.String({
  pattern:
    '^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521|sk-ssh-ed25519@openssh.com|sk-ecdsa-sha2-nistp256@openssh.com) [A-Za-z0-9+/]+={0,2}( [^\\n]*)?$',
  maxLength: 2000,
  description: 'an SSH public key as in allowed_signers or authorized_keys: ssh-ed25519 AAAA… comment',
});
/** An age X25519 public key: the recipient secrets are sealed to. */
export const AgeRecipient = Type.String({
  pattern: '^age1[02-9ac-hj-np-z]{58}$',
  description: 'its age X25519 recipient (age1…): secrets for it are sealed to this key',
});
/** Who a part is to the broker and the Git server, and the keys its messages are signed with. */
export const PartKeys = Type.Object(
  {
    user: Type.String({ pattern: '^[A-Za-z0-9._@-]{1,128}$', description: 'its MQTT user name, also its Git user for the pre-receive hook' }),
    keys: Type.Array(SigningKey, {
      minItems: 1,
      maxItems: 8,
      uniqueItems: true,
      description: 'signing keys accepted from it; more than one while a key is rotated',
    }),
    age: Type.Optional(AgeRecipient),
  },
  { additionalProperties: false },
);
export type PartKeys = Static<typeof PartKeys>;

/** The events the root notifies of (reconciler/root/notify/). */
export const NOTIFY_EVENTS = ['accepted', 'rejected', 'converged', 'unreachable', 'rolled-back'] as const;
/** An http(s) URL with no user or password in it: credentials never go in the repository. */
const HttpUrl = Type.String({ pattern: '^https?://[^\\s/?#@]+(/[^\\s]*)?$', maxLength: 2000 });
const EnvName = Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$', maxLength: 128 });
export const NotificationTarget = Type.Object(
  {
    url: HttpUrl,
    secretEnv: Type.Optional({ ...EnvName, description: "the root's environment variable holding the HMAC secret (X-Canopy-Signature: sha256=…)" }),
    events: Type.Optional(Type.Array(StringEnum(NOTIFY_EVENTS), { minItems: 1, uniqueItems: true, description: 'the events sent (default: all)' })),
  },
  { additionalProperties: false },
);
export const CommitStatus = Type.Object(
  {
    provider: StringEnum(['github', 'gitea'] as const),
    apiUrl: Type.Optional({
      ...HttpUrl,
      description: "the API's base: https://api.github.com (GitHub's default), or the Gitea server (default: the origin of the root's --repo URL)",
    }),
    tokenEnv: Type.Optional({
      ...EnvName,
      description: "the root's environment variable holding the token (default CANOPY_STATUS_TOKEN, then CANOPY_GIT_TOKEN)",
    }),
    repository: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$',
        maxLength: 200,
        description: "OWNER/NAME on the server (default: from the root's --repo URL)",
      }),
    ),
    context: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'the status context (default canopy/deploy)' })),
  },
  { additionalProperties: false, description: 'a commit status on each commit of main: pending, then success or failure' },
);
export type NotificationTarget = Static<typeof NotificationTarget>;
export type CommitStatus = Static<typeof CommitStatus>;

export const FleetDescriptor = Type.Object(
  {
    apiVersion: Type.Literal('canopy/v1'),
    kind: Type.Literal('Fleet'),
    metadata: Type.Object({ name: Name }, { additionalProperties: false }),
    spec: Type.Optional(
      Type.Object(
        {
          scheduler: Type.Optional(
            Type.Object(
              {
                // The names are schemas/policies.ts's; the registries in reconciler/*/policies/ implement each.
                root: Type.Optional(StringEnum(ROOT_POLICIES, { description: describePolicies(ROOT_POLICY_SUMMARIES) })),
                cluster: Type.Optional(StringEnum(CLUSTER_POLICIES, { description: describePolicies(CLUSTER_POLICY_SUMMARIES) })),
              },
              { additionalProperties: false },
            ),
          ),
          timings: Type.Optional(
            Type.Object(
              {
                heartbeatSeconds: Type.Optional(Type.Number({ minimum: 0.1, maximum: 3600 })),
                unreachableAfterSeconds: Type.Optional(Type.Number({ minimum: 0.5, maximum: 86400 })),
                statusRefreshSeconds: Type.Optional(Type.Number({ minimum: 1, maximum: 86400 })),
              },
              { additionalProperties: false },
            ),
          ),
          targets: Type.Optional(
            Type.Record(
              Name,
              Type.Object(
                {
                  lat: Type.Number({ minimum: -90, maximum: 90 }),
                  lon: Type.Number({ minimum: -180, maximum: 180 }),
                  probe: Type.Optional(Type.String()),
                },
                { additionalProperties: false },
              ),
              { additionalProperties: false },
            ),
          ),
          registries: Type.Optional(
            Type.Array(
              Type.Object(
                {
                  host: Type.String({
                    pattern: '^[A-Za-z0-9.-]+(:[0-9]{1,5})?$',
                    maxLength: 260,
                    description: 'the registry, as in image names: host or host:port',
                  }),
                  secret: SecretName,
                },
                { additionalProperties: false },
              ),
              { maxItems: 32, description: 'private registries: the secret (keys username and password) logs in to host' },
            ),
          ),
          notifications: Type.Optional(
            Type.Array(NotificationTarget, {
              maxItems: 16,
              description: 'webhooks the root POSTs a JSON event to (canopy.event), with retries',
            }),
          ),
          commitStatus: Type.Optional(CommitStatus),
          trust: Type.Optional(
            Type.Object(
              {
                root: Type.Optional(PartKeys),
                operators: Type.Optional(
                  Type.Record(Name, PartKeys, {
                    additionalProperties: false,
                    description: 'people and tools: they may read status, never publish desired state',
                  }),
                ),
                commitSigners: Type.Optional(
                  Type.Array(SshPublicKey, {
                    minItems: 1,
                    maxItems: 100,
                    uniqueItems: true,
                    description: "when set, a commit of main is accepted only if signed by one of these keys (judged by the last accepted commit's fleet.yaml)",
                  }),
                ),
              },
              { additionalProperties: false, description: 'keys the fleet trusts; without them, parts run unsigned' },
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false, $id: 'fleet.schema.json', title: 'canopy fleet.yaml' },
);

/** What an air-gapped cluster declares it holds: the root places on it from this (it never reports over MQTT). */
const DeclaredCapacity = Type.Object(
  {
    cpu: Type.Number({ minimum: 0, maximum: 1_000_000, description: 'cores in all' }),
    memory: Quantity,
    gpu: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000 })),
    nodes: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000, description: 'how many nodes of equal size (default 1): one replica must fit one' })),
    runtimes: Type.Optional(
      Type.Array(StringEnum(['container', 'process'] as const), { minItems: 1, uniqueItems: true, description: 'what its nodes run (default container)' }),
    ),
    arch: Type.Optional(
      Type.Array(StringEnum(['amd64', 'arm64', 'arm', '386', 'riscv64'] as const), { minItems: 1, uniqueItems: true, description: 'default amd64' }),
    ),
  },
  { additionalProperties: false },
);

export const ClusterDescriptor = Type.Object(
  {
    apiVersion: Type.Literal('canopy/v1'),
    kind: Type.Literal('Cluster'),
    metadata: Type.Object({ name: Name, labels: Type.Optional(Labels) }, { additionalProperties: false }),
    spec: Type.Optional(
      Type.Object(
        {
          location: Type.Optional(Point),
          operator: Type.Optional(Type.String({ minLength: 1 })),
          nodes: Type.Optional(Type.Integer({ minimum: 0, maximum: 10000, description: 'nodes `canopy up` starts for this cluster' })),
          identity: Type.Optional(PartKeys),
          nodeIdentities: Type.Optional(Type.Record(Name, PartKeys, { additionalProperties: false, description: "the keys of this cluster's node agents" })),
          connectivity: Type.Optional(
            StringEnum(['online', 'air-gapped'] as const, {
              description: 'online (default): it speaks over MQTT; air-gapped: placements and statuses travel by bundle files only',
            }),
          ),
          capacity: Type.Optional(DeclaredCapacity),
          retired: Type.Optional(Type.Boolean({ description: 'retired: its services are placed elsewhere first (drain), then it is given nothing to run' })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false, $id: 'cluster.schema.json', title: 'canopy clusters/<name>.yaml' },
);

export const SecretDescriptor = Type.Object(
  {
    apiVersion: Type.Literal('canopy/v1'),
    kind: Type.Literal('Secret'),
    metadata: Type.Object({ name: SecretName }, { additionalProperties: false }),
    spec: Type.Object(
      {
        clusters: Type.Array(Name, { minItems: 1, maxItems: 256, uniqueItems: true, description: 'the clusters secrets/<name>.age is sealed to' }),
        keys: Type.Array(SecretKey, { minItems: 1, maxItems: 256, uniqueItems: true, description: 'its key names (never values)' }),
      },
      { additionalProperties: false },
    ),
  },
  {
    additionalProperties: false,
    $id: 'secret.schema.json',
    title: 'canopy secrets/<name>.yaml: written by canopy secret set beside secrets/<name>.age',
  },
);

export type SecretDescriptor = Static<typeof SecretDescriptor>;
export type SecretRef = Static<typeof SecretRef>;
export type ConfigFile = Static<typeof ConfigFile>;
export type ServiceDescriptor = Static<typeof ServiceDescriptor>;
export type ServiceSpec = Static<typeof ServiceSpec>;
export type FleetDescriptor = Static<typeof FleetDescriptor>;
export type ClusterDescriptor = Static<typeof ClusterDescriptor>;
export type Point = Static<typeof Point>;
export type ClusterSelector = Static<typeof ClusterSelector>;
export type Rollout = NonNullable<ServiceSpec['rollout']>;

/** Every schema written to schemas/<file>. */
export const fileSchemas: Record<string, TSchema> = {
  'service.schema.json': ServiceDescriptor,
  'fleet.schema.json': FleetDescriptor,
  'cluster.schema.json': ClusterDescriptor,
  'secret.schema.json': SecretDescriptor,
};
