-- As 0035, for params.
ALTER TABLE version_params
    DROP KEY ix_version_params_search,
    ADD KEY ix_version_params_value (model_id, param_key, param_value_head, version_number);
