// Package modelkeep is the domain of the Modelkeep model registry: its types,
// rules, errors, the use cases (Service) and the interfaces of the stores the
// use cases consume. It imports only the standard library; the HTTP layer
// (api), the metadata store (store) and the blob stores (store/blob) depend on
// it, never the other way round.
package modelkeep
