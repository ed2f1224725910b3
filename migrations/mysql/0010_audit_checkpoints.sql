-- audit_checkpoints: signed statements "the audit chain had event seq with
-- hash hash at time", by the Ed25519 key key_id (public_key, base64 of its 32
-- bytes, so an export can name it). Kinds: interval (the periodic job),
-- request (POST /api/v1/audit/checkpoints), prune (the anchor of a pruned
-- chain: its last removed event). The application only inserts and reads;
-- `modelkeep audit prune` deletes the ones below its anchor.
CREATE TABLE audit_checkpoints (
    seq        BIGINT       NOT NULL,
    hash       CHAR(64)     CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    time       DATETIME(6)  NOT NULL,
    kind       VARCHAR(16)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    key_id     VARCHAR(64)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    public_key VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    signature  VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    PRIMARY KEY (seq),
    KEY ix_audit_checkpoints_kind (kind, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
