// The repository handle every Git module takes: where the work tree and the git directory are
// (repo.ts opens one: openRepo). The bottom of the Git port: the object store (odb.ts), history
// (log.ts), trees (tree.ts) and the port itself (repo.ts, which re-exports it) build on it; it
// imports nothing.
export interface Repo {
  readonly dir: string;
  readonly gitdir: string;
  readonly cache: object;
}
