// Wire and record shapes: MQTT payloads, placement documents, status records. One
// discriminated union per topic, keyed on `kind`. Parsed at the receiving boundary by
// schemas/parse.ts; never trusted before that.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { StringEnum } from './string-enum.js';
import { ServiceSpec, Point, SigningKey, AgeRecipient } from './model.js';

const Oid = Type.String({ pattern: '^[0-9a-f]{40}$' });
const Id = Type.String({ minLength: 1, maxLength: 300 });
/** A service id as a key of a record: as Id (TypeBox turns a record's key schema into a pattern, and drops lengths). */
const IdKey = Type.String({ pattern: '^.{1,300}$' });
/**
 * A sequence number or epoch: a whole number JavaScript counts exactly (below 2^53), so the next
 * one is always greater (2^53 + 1 is 2^53 in a double: a version there could never move on).
 */
const Counter = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const Time = Type.String({ pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$', maxLength: 40, description: 'UTC ISO 8601 time' });
const Octet = '(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])';
/** An IP address literal: dotted IPv4, or IPv6 (hex groups and colons, an IPv4 tail, a zone after %). */
const IpAddress = Type.String({
  pattern: `^((${Octet}\\.){3}${Octet}|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*(%[A-Za-z0-9_.-]{1,32})?)$`,
  maxLength: 80,
  description: 'IPv4 or IPv6 address',
});

/** Version of a delegation: the main commit it came from, a sequence number and a fencing epoch. */
export const Version = Type.Object(
  {
    commit: Oid,
    seq: Counter,
    epoch: Counter,
  },
  { additionalProperties: false },
);

/** One service as handed to a cluster: the spec, how many replicas there, and why. */
export const Assignment = Type.Object(
  {
    replicas: Type.Integer({ minimum: 0 }),
    specHash: Type.String({ minLength: 1, maxLength: 64 }),
    spec: ServiceSpec,
    reason: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { additionalProperties: false },
);

const SecretName = Type.String({ pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$' });
const Keys = Type.Array(SigningKey, { minItems: 1, maxItems: 8, uniqueItems: true });
/** The fingerprints of the keys a part trusts from the part above it: its sender picks a key they name. */
const Trusts = Type.Array(Type.String({ pattern: '^SHA256:[A-Za-z0-9+/]{43}$' }), { maxItems: 8, uniqueItems: true });

/**
 * The keys a receiver is to trust from now on, handed down inside a signed message (so a key is
 * rotated by a commit, with no restart): the root's and a cluster's own (from fleet.yaml and
 * clusters/<c>.yaml), and its nodes'.
 */
export const Trust = Type.Object(
  {
    root: Type.Optional(Keys),
    cluster: Type.Optional(Keys),
    nodes: Type.Optional(Type.Record(Type.String({ pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$' }), Keys, { additionalProperties: false })),
    /** The nodes' age recipients (clusters/<c>.yaml nodeIdentities.<n>.age): what the cluster seals their secrets to. */
    nodeAge: Type.Optional(Type.Record(Type.String({ pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$' }), AgeRecipient, { additionalProperties: false })),
    /** The fleet's operators' keys (fleet.yaml spec.trust.operators): whose log requests the cluster serves. */
    operators: Type.Optional(Type.Record(Type.String({ pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$' }), Keys, { additionalProperties: false })),
  },
  { additionalProperties: false },
);

/** An age file, ASCII-armored (`-----BEGIN AGE ENCRYPTED FILE-----`): ciphertext only. */
export const MAX_SEALED_CHARS = 64 * 1024;
const Armored = Type.String({ minLength: 1, maxLength: MAX_SEALED_CHARS, pattern: '^-----BEGIN AGE ENCRYPTED FILE-----' });

/** `host:port` of a running instance: its node's address and its published port (`[v6]:port` for IPv6). */
export const Endpoint = Type.String({ minLength: 3, maxLength: 64 });
/** At most this many endpoints per replica in a node's status. */
export const MAX_REPLICA_ENDPOINTS = 16;
/** At most this many endpoints per service in a cluster's status; `endpointsOmitted` counts the rest. */
export const MAX_SERVICE_ENDPOINTS = 64;
/** Distinct images a cluster reports per service (two during a rollout; more is a mess worth bounding). */
export const MAX_SERVICE_IMAGES = 8;
/** An image as it ran: `name@sha256:<64 hex>` or an image ID `sha256:<64 hex>`. */
export const ImageDigest = Type.String({ maxLength: 600, pattern: '^([^@\\s]+@)?sha256:[0-9a-f]{64}$' });
/** At most this many clusters per route the root hands a cluster (the closest ones). */
export const MAX_ROUTE_CLUSTERS = 16;
/** At most this many endpoints per route a cluster hands a node. */
export const MAX_ROUTE_ENDPOINTS = 256;
/** At most this many services a part asks for beyond what its workloads use (`interest`). */
export const MAX_INTEREST = 256;
const Protocol = StringEnum(['tcp', 'udp'] as const);

/**
 * How a cluster's workloads reach one service they may call (root → cluster, in the placement):
 * the port callers use (the service's first port) and, per other cluster that exposes the
 * service, its endpoints, closest first (`rank` 0 is the closest cluster). The receiving cluster
 * adds its own instances, which it knows live from its nodes.
 */
export const Route = Type.Object(
  {
    port: Type.Integer({ minimum: 1, maximum: 65535 }),
    protocol: Type.Optional(Protocol),
    clusters: Type.Array(
      Type.Object(
        {
          cluster: Type.String({ pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$' }),
          rank: Type.Integer({ minimum: 0 }),
          endpoints: Type.Array(Endpoint, { minItems: 1, maxItems: MAX_SERVICE_ENDPOINTS }),
        },
        { additionalProperties: false },
      ),
      { maxItems: MAX_ROUTE_CLUSTERS },
    ),
  },
  { additionalProperties: false },
);

/**
 * How a node's workloads reach one service (cluster → node): the port callers use and every
 * endpoint with its tier for the closest policy: 0 on this node, 1 elsewhere in this cluster,
 * 2 + rank in another cluster (lower is closer). Round-robin ignores tiers.
 */
export const NodeRoute = Type.Object(
  {
    port: Type.Integer({ minimum: 1, maximum: 65535 }),
    protocol: Type.Optional(Protocol),
    endpoints: Type.Array(Type.Object({ addr: Endpoint, tier: Type.Integer({ minimum: 0 }) }, { additionalProperties: false }), {
      maxItems: MAX_ROUTE_ENDPOINTS,
    }),
  },
  { additionalProperties: false },
);

/** Services a part asks for beyond what its workloads declare: a first lookup of a name it was not told about. */
const Interest = Type.Array(IdKey, { maxItems: MAX_INTEREST, uniqueItems: true });

/** Config files (spec.files) by Git blob id → content, base64 (binary-safe; at most 256 KiB before encoding). */
const FileContents = Type.Record(Type.String({ pattern: '^[0-9a-f]{40}$' }), Type.String({ maxLength: 349528, pattern: '^[A-Za-z0-9+/]*={0,2}$' }), {
  additionalProperties: false,
});

/** A cluster's whole placement: what the root writes to refs/canopy/placements/<cluster>. */
export const Placement = Type.Object(
  {
    fleet: Type.String(),
    cluster: Type.String(),
    version: Version,
    trust: Type.Optional(Trust),
    services: Type.Record(IdKey, Assignment, { additionalProperties: false }),
    /** The services its workloads may call (their own apps', their `uses`, its `interest`), by id. */
    routes: Type.Optional(Type.Record(IdKey, Route, { additionalProperties: false })),
    /** The secrets its services and the fleet's registries use, as the repository holds them: secrets/<name>.age, sealed to the cluster (the root never opens them). */
    secrets: Type.Optional(Type.Record(SecretName, Armored, { additionalProperties: false })),
    /** The config files its services' specs name (spec.files[].oid), as the repository holds them. */
    files: Type.Optional(FileContents),
    /** The fleet's private registries: host → the secret with their username and password. */
    registries: Type.Optional(Type.Record(Type.String({ minLength: 1, maxLength: 260 }), SecretName, { additionalProperties: false })),
    /**
     * Services this version removes because main deleted them (not because they moved to another
     * cluster): their volumes go too. Only on the version that removes them.
     */
    deleted: Type.Optional(Type.Array(IdKey, { uniqueItems: true, maxItems: 10000 })),
  },
  { additionalProperties: false, $id: 'placement.schema.json' },
);

const PatchOp = Type.Object(
  {
    op: StringEnum(['add', 'remove', 'replace', 'move', 'copy', 'test'] as const),
    path: Type.String(),
    from: Type.Optional(Type.String()),
    value: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: false },
);

/** clusters/<c>/desired: root → cluster. */
export const DesiredMessage = Type.Union(
  [
    Type.Object({ kind: Type.Literal('snapshot'), placement: Placement }, { additionalProperties: false }),
    Type.Object({ kind: Type.Literal('patch'), base: Version, version: Version, ops: Type.Array(PatchOp) }, { additionalProperties: false }),
  ],
  { $id: 'desired-message.schema.json' },
);

const Capacity = Type.Object(
  {
    cpu: Type.Number({ minimum: 0 }),
    memoryMi: Type.Number({ minimum: 0 }),
    gpu: Type.Number({ minimum: 0 }),
  },
  { additionalProperties: false },
);

export const ServiceStatus = Type.Object(
  {
    desired: Type.Integer({ minimum: 0 }),
    running: Type.Integer({ minimum: 0 }),
    /** Running replicas whose health probe passes (all running ones when the spec has no probe); absent from older clusters: as running. */
    ready: Type.Optional(Type.Integer({ minimum: 0 })),
    /**
     * Replicas running the spec of the cluster's placement (its `specHash`) and ready: while a
     * rollout replaces replicas inside the cluster, older ones count in `ready` and not here.
     * Absent from older clusters: as `ready`.
     */
    updated: Type.Optional(Type.Integer({ minimum: 0 })),
    failed: Type.Integer({ minimum: 0 }),
    /** What the cluster exposes of the service: its running replicas' endpoints of the service's first port, sorted, without duplicates; never node names. */
    endpoints: Type.Optional(Type.Array(Endpoint, { maxItems: MAX_SERVICE_ENDPOINTS })),
    /** How many endpoints did not fit in `endpoints`. */
    endpointsOmitted: Type.Optional(Type.Integer({ minimum: 1 })),
    message: Type.Optional(Type.String({ maxLength: 2000 })),
    /** The distinct images its replicas run (ReplicaState.image), sorted, at most MAX_SERVICE_IMAGES. */
    images: Type.Optional(Type.Array(ImageDigest, { maxItems: MAX_SERVICE_IMAGES })),
    /** Replicas of what it was given that the cluster cannot place on any node, and why: the root tries elsewhere. */
    refused: Type.Optional(
      Type.Object(
        {
          count: Type.Integer({ minimum: 1 }),
          reason: Type.String({ maxLength: 2000 }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

const TargetName = Type.String({ pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$' });
/** A latency target as fleet.yaml names it: a point, and optionally an address to probe. */
export const LatencyTarget = Type.Object(
  {
    lat: Type.Number({ minimum: -90, maximum: 90 }),
    lon: Type.Number({ minimum: -180, maximum: 180 }),
    probe: Type.Optional(Type.String({ maxLength: 300 })),
  },
  { additionalProperties: false },
);

/** clusters/<c>/status: cluster → root. Aggregates only: the root never sees nodes. */
export const ClusterStatus = Type.Object(
  {
    kind: Type.Literal('cluster-status'),
    cluster: Type.String(),
    at: Time,
    applied: Type.Union([Version, Type.Null()]),
    trusts: Type.Optional(Trusts),
    capacity: Capacity,
    free: Capacity,
    maxNodeFree: Capacity,
    /** The largest single node's capacity: the root never sends a replica no node could hold. */
    maxNode: Capacity,
    /** Distinct node sizes (Pareto-largest, at most 32): one of them must hold a replica. */
    shapes: Type.Optional(Type.Array(Capacity, { maxItems: 32 })),
    arch: Type.Array(Type.String()),
    runtimes: Type.Array(Type.String()),
    labels: Type.Record(Type.String(), Type.String()),
    operator: Type.Optional(Type.String()),
    location: Type.Optional(Point),
    /** Geohash cells (precision 5, coarser when there are many) holding its online nodes: where, roughly, without naming them. */
    footprint: Type.Optional(Type.Array(Type.String({ pattern: '^[0-9b-hjkmnp-z]{1,12}$' }), { maxItems: 256 })),
    /** Per latency target: the best round trip its nodes measured, else its estimate from their positions. */
    latency: Type.Optional(
      Type.Record(
        TargetName,
        Type.Object(
          {
            ms: Type.Number({ minimum: 0 }),
            source: StringEnum(['measured', 'estimated'] as const),
          },
          { additionalProperties: false },
        ),
        { additionalProperties: false },
      ),
    ),
    nodes: Type.Object({ total: Type.Integer({ minimum: 0 }), online: Type.Integer({ minimum: 0 }) }, { additionalProperties: false }),
    services: Type.Record(IdKey, ServiceStatus, { additionalProperties: false }),
    /** Services its nodes asked for that no workload placed here declares: the root adds their routes. */
    interest: Type.Optional(Interest),
  },
  { additionalProperties: false, $id: 'cluster-status.schema.json' },
);

/** .../online (retained; also the last will). */
export const OnlineMessage = Type.Object(
  {
    kind: Type.Literal('online'),
    online: Type.Boolean(),
    at: Time,
  },
  { additionalProperties: false, $id: 'online.schema.json' },
);

/** One replica as handed to a node. */
export const ReplicaSpec = Type.Object(
  {
    id: Id,
    service: Id,
    index: Type.Integer({ minimum: 0 }),
    specHash: Type.String({ minLength: 1, maxLength: 64 }),
    spec: ServiceSpec,
  },
  { additionalProperties: false },
);

/** clusters/<c>/nodes/<n>/desired: cluster → agent, a full snapshot (small: one node's share). */
export const NodeDesired = Type.Object(
  {
    kind: Type.Literal('node-desired'),
    seq: Counter,
    epoch: Counter,
    /** How often the agent reports: the cluster's heartbeat, so its liveness check fits. */
    heartbeatSeconds: Type.Optional(Type.Number({ minimum: 0.1, maximum: 3600 })),
    /** The fleet's latency targets: the agent measures round trips to those with a probe address. */
    targets: Type.Optional(Type.Record(TargetName, LatencyTarget, { additionalProperties: false })),
    /** The cluster's keys, when they are declared: the agent trusts them from then on. */
    trust: Type.Optional(Type.Object({ cluster: Keys }, { additionalProperties: false })),
    replicas: Type.Array(ReplicaSpec),
    /**
     * The services of the cluster's placement that declare volumes: the agent removes the volumes
     * of a service neither here nor in `replicas` (unless retained). Absent (no placement yet, an
     * older cluster): it removes none.
     */
    volumeServices: Type.Optional(Type.Array(IdKey, { uniqueItems: true })),
    /**
     * Services deleted from main (not moved to another cluster) that this cluster ran lately: the
     * node removes their volumes (unless retained). A volume of a service named nowhere stays.
     */
    deletedServices: Type.Optional(Type.Array(IdKey, { uniqueItems: true, maxItems: 10000 })),
    /** How the node's workloads reach the services they may call (their apps', their `uses`, the node's `interest`). */
    routes: Type.Optional(Type.Record(IdKey, NodeRoute, { additionalProperties: false })),
    /**
     * The secret keys its replicas use and the registry credentials of its container replicas,
     * sealed by the cluster to the node's age recipient: it opens to `NodeSecrets`.
     */
    sealed: Type.Optional(Armored),
    /** The config files its replicas' specs name (spec.files[].oid): only those. */
    files: Type.Optional(FileContents),
    /** Why the cluster could not seal what the node's replicas need (names only, never a value). */
    sealedError: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false, $id: 'node-desired.schema.json' },
);

export const ReplicaState = Type.Object(
  {
    id: Id,
    service: Id,
    specHash: Type.String(),
    state: StringEnum(['starting', 'running', 'failed', 'stopped'] as const),
    message: Type.Optional(Type.String({ maxLength: 2000 })),
    since: Time,
    /** A running replica's health probe passes (always, without a probe); absent from older agents: ready while running. */
    ready: Type.Optional(Type.Boolean()),
    /** Why a running replica is not ready: the probe's last failure ("GET /health: 503", "connect ECONNREFUSED"). */
    notReady: Type.Optional(Type.String({ maxLength: 500 })),
    /** Where a running replica is reached from outside its node, one per port in the spec's order (the first: the service's address): `<node address>:<published port>`. */
    endpoints: Type.Optional(Type.Array(Endpoint, { maxItems: MAX_REPLICA_ENDPOINTS })),
    /** The image it runs: its repository digest (`name@sha256:…`), else its image ID (`sha256:…`, an image with none, as `docker import` makes). Containers only. */
    image: Type.Optional(ImageDigest),
  },
  { additionalProperties: false },
);

/** clusters/<c>/nodes/<n>/status: agent → cluster. */
export const NodeStatus = Type.Object(
  {
    kind: Type.Literal('node-status'),
    node: Type.String(),
    at: Time,
    trusts: Type.Optional(Trusts),
    appliedSeq: Type.Union([Counter, Type.Null()]),
    capacity: Capacity,
    arch: Type.String(),
    runtimes: Type.Array(Type.String()),
    labels: Type.Record(Type.String(), Type.String()),
    location: Type.Optional(Point),
    /** The address other nodes reach this node at (`canopy agent --address`); its workloads' CANOPY_NODE_ADDRESS. */
    address: Type.Optional(IpAddress),
    /** Per latency target: the median round trip this node measured to its probe address. */
    latency: Type.Optional(
      Type.Record(TargetName, Type.Object({ ms: Type.Number({ minimum: 0 }) }, { additionalProperties: false }), { additionalProperties: false }),
    ),
    replicas: Type.Array(ReplicaState),
    /** Services its workloads looked up by name that it was not told about: its cluster adds their routes. */
    interest: Type.Optional(Interest),
  },
  { additionalProperties: false, $id: 'node-status.schema.json' },
);

/**
 * A signed payload: `body` is the message itself; `sig` is the Ed25519 signature of
 * `canopy-signed/v1\n<topic>\n<at>\n<body's bytes>` by the key named `by` (its SHA256
 * fingerprint). `at` (ms since the epoch, the sender's clock) orders messages on one topic, so an
 * old one replayed is told apart. Written in exactly this field order, without spaces, the body
 * last (reconciler/mqtt/signed-codec.ts), so its bytes are checked as they came.
 */
export const SignedEnvelope = Type.Object(
  {
    signed: Type.Literal('canopy/v1'),
    by: Type.String({ pattern: '^SHA256:[A-Za-z0-9+/]{43}$' }),
    at: Type.Integer({ minimum: 0 }),
    sig: Type.String({ pattern: '^[A-Za-z0-9+/]{86}==$' }),
    body: Type.Record(Type.String(), Type.Unknown()),
  },
  { additionalProperties: false, $id: 'signed-envelope.schema.json' },
);

/**
 * What a placement bundle carries for an air-gapped site (`canopy bundle export --repo DIR
 * --cluster C`), signed by the root as its MQTT messages are (the signed envelope, on the
 * pseudo-topic `clusters/<c>/bundle`): the placement's version and commit, main's commit in force,
 * the notes' tip, and the container images in the `--images` archive with their image IDs. The
 * commit ids cover their content, so the signature covers the whole placement.
 */
export const BundleManifest = Type.Object(
  {
    kind: Type.Literal('canopy-bundle'),
    fleet: Type.String({ pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$' }),
    cluster: Type.String({ pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$' }),
    version: Version,
    /** The commit of refs/canopy/placements/<c> the bundle carries. */
    placement: Oid,
    /** main's commit in force (the placement's version.commit), carried as refs/heads/main. */
    main: Oid,
    notes: Type.Optional(Oid),
    /** The tip of refs/canopy/status/<c> the root held: a status bundle need carry only what is past it. */
    statusAcked: Type.Optional(Oid),
    exportedAt: Time,
    /** Images in the --images archive: the reference the placement names and its image ID (sha256:…). */
    images: Type.Optional(
      Type.Array(
        Type.Object(
          { ref: Type.String({ minLength: 1, maxLength: 512 }), id: Type.String({ pattern: '^sha256:[0-9a-f]{64}$' }) },
          { additionalProperties: false },
        ),
        { maxItems: 256 },
      ),
    ),
  },
  { additionalProperties: false, $id: 'bundle-manifest.schema.json' },
);

/** A part's identity file (`canopy identity create`): secret; kept by the part, never in Git. */
export const IdentityFile = Type.Object(
  {
    apiVersion: Type.Literal('canopy/v1'),
    kind: Type.Literal('Identity'),
    fleet: Type.String({ pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$' }),
    role: StringEnum(['root', 'cluster', 'node', 'operator'] as const),
    name: Type.String({ pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(/[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)?$' }),
    createdAt: Time,
    mqtt: Type.Object(
      { username: Type.String({ minLength: 1, maxLength: 128 }), password: Type.String({ minLength: 16, maxLength: 256 }) },
      { additionalProperties: false },
    ),
    ed25519: Type.Object({ publicKey: SigningKey, privateKey: Type.String({ minLength: 1, maxLength: 4000 }) }, { additionalProperties: false }),
    /** Keys this part had before (a rotation): it signs with one for a peer that trusts no newer one yet. */
    previous: Type.Optional(
      Type.Array(Type.Object({ publicKey: SigningKey, privateKey: Type.String({ minLength: 1, maxLength: 4000 }) }, { additionalProperties: false }), {
        maxItems: 3,
      }),
    ),
    age: Type.Object(
      { recipient: Type.String({ pattern: '^age1[0-9a-z]{58}$' }), identity: Type.String({ pattern: '^AGE-SECRET-KEY-1[0-9A-Z]{58}$' }) },
      { additionalProperties: false },
    ),
    /** The keys this part trusts when it starts (later ones arrive signed): the root's for a cluster, the cluster's for a node. */
    trust: Type.Optional(Type.Object({ root: Type.Optional(Keys), cluster: Type.Optional(Keys) }, { additionalProperties: false })),
    tls: Type.Optional(
      Type.Object(
        {
          ca: Type.Optional(Type.String({ minLength: 1 })),
          cert: Type.Optional(Type.String({ minLength: 1 })),
          key: Type.Optional(Type.String({ minLength: 1 })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false, $id: 'identity.schema.json' },
);

/** A log stream's id, chosen by the operator's CLI: names the stream in every answer. */
const StreamId = Type.String({ pattern: '^[A-Za-z0-9_-]{8,64}$' });
const ReplicaId = Type.String({ minLength: 3, maxLength: 300 });
/** At most this many lines of a tail (`canopy logs --tail`). */
export const MAX_LOG_TAIL = 10_000;
/** A line longer than this is cut (and marked) where the agent reads it. */
export const MAX_LOG_LINE_BYTES = 8 * 1024;
const LogLines = Type.Array(Type.String({ maxLength: MAX_LOG_LINE_BYTES + 16 }), { maxItems: 4096 });

/**
 * Logs on demand: the operator asks a cluster (`clusters/<c>/logs/request/<operator>`), the
 * cluster asks the nodes that run the replicas (`…/nodes/<n>/logs/request`), each node answers
 * its cluster (`…/nodes/<n>/logs/answer`), the cluster relays to the operator
 * (`clusters/<c>/logs/answer/<operator>`). `op`: start a stream, renew its lease (a follow
 * stream ends by itself when its lease runs out), or stop it. `at` (ms since the epoch) is signed
 * with the body: a request far from the receiver's clock is refused (no replay of an old one).
 */
const LogLabel = Type.String({ pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$' });
/** What an operator's request and the cluster's request to a node share: the stream, the operation, when it was signed, how much. */
const logRequest = () => ({
  id: StreamId,
  op: StringEnum(['start', 'renew', 'stop'] as const),
  at: Counter,
  tail: Type.Integer({ minimum: 0, maximum: MAX_LOG_TAIL }),
  follow: Type.Boolean(),
});

export const LogsMessage = Type.Union([
  Type.Object(
    {
      kind: Type.Literal('logs-request'),
      ...logRequest(),
      service: Type.String({ pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?/[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$' }),
      /** One replica: its index (`3`) or its id (`shop/web#3`). */
      replica: Type.Optional(Type.String({ minLength: 1, maxLength: 300 })),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Literal('node-logs-request'),
      ...logRequest(),
      node: LogLabel,
      replicas: Type.Array(ReplicaId, { minItems: 1, maxItems: 64, uniqueItems: true }),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Literal('logs-answer'),
      id: StreamId,
      cluster: LogLabel,
      /** The node the lines come from (absent: the cluster speaks, e.g. `expect` or an error). */
      node: Type.Optional(LogLabel),
      replica: Type.Optional(ReplicaId),
      lines: Type.Optional(LogLines),
      /** Lines dropped by the rate limit since the last chunk of this replica. */
      dropped: Type.Optional(Counter),
      /** The cluster's first answer: the nodes that will answer, and their replicas. */
      expect: Type.Optional(Type.Record(LogLabel, Type.Array(ReplicaId, { maxItems: 64 }))),
      /** The stream (of this node, or the whole request when no node) is over. */
      end: Type.Optional(Type.Boolean()),
      error: Type.Optional(Type.String({ maxLength: 2000 })),
    },
    { additionalProperties: false },
  ),
]);

export type Trust = Static<typeof Trust>;
export type LogsMessage = Static<typeof LogsMessage>;
export type SignedEnvelope = Static<typeof SignedEnvelope>;
export type IdentityFile = Static<typeof IdentityFile>;
export type BundleManifest = Static<typeof BundleManifest>;
export type Version = Static<typeof Version>;
export type Assignment = Static<typeof Assignment>;
export type Placement = Static<typeof Placement>;
export type DesiredMessage = Static<typeof DesiredMessage>;
export type Capacity = Static<typeof Capacity>;
export type ServiceStatus = Static<typeof ServiceStatus>;
export type ClusterStatus = Static<typeof ClusterStatus>;
export type OnlineMessage = Static<typeof OnlineMessage>;
export type ReplicaSpec = Static<typeof ReplicaSpec>;
export type NodeDesired = Static<typeof NodeDesired>;
export type ReplicaState = Static<typeof ReplicaState>;
export type NodeStatus = Static<typeof NodeStatus>;
export type LatencyTarget = Static<typeof LatencyTarget>;
export type Route = Static<typeof Route>;
export type NodeRoute = Static<typeof NodeRoute>;

export const messageSchemas: Record<string, TSchema> = {
  'placement.schema.json': Placement,
  'desired-message.schema.json': DesiredMessage,
  'cluster-status.schema.json': ClusterStatus,
  'online.schema.json': OnlineMessage,
  'node-desired.schema.json': NodeDesired,
  'node-status.schema.json': NodeStatus,
  'signed-envelope.schema.json': SignedEnvelope,
  'identity.schema.json': IdentityFile,
  'bundle-manifest.schema.json': BundleManifest,
  'logs-message.schema.json': LogsMessage,
};
