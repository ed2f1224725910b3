// Package modelkeep is the domain of the Modelkeep model registry: its types,
// rules, errors (one table of kinds, codes and statuses), the use cases
// (Service, and AuditLog for the audit log) and the interfaces of the stores
// the use cases consume (store.go). Besides the standard library it imports
// only its two engines, the leaf packages audit (the audit log's format) and
// search (the filter language); the HTTP layer (api), the metadata store
// (store) and the blob stores (store/blob) depend on it, never the other way
// round.
package modelkeep
