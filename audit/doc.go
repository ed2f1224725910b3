// Package audit is the format of Modelkeep's audit log, as docs/audit.md
// specifies it for verifiers written in any language: the event and its
// RFC 8785 canonical form, the SHA-256 hash chain, signed checkpoints and
// export seals, the chain verifier, and the export files (JSON Lines and
// CSV) with their encoders, decoders and offline verifier.
//
// It imports only the standard library and knows nothing of databases or
// HTTP: the registry (package modelkeep) stores events and feeds them to
// the verifier and the encoders; `modelkeep audit verify` feeds it a file.
package audit
