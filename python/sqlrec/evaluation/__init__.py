"""Offline evaluation: the temporal split (`split`), the metrics (`metrics`), the recommenders
scored in Python (`baselines`), the datasets (`datasets`), the whole protocol (`protocol`), its
report (`report`) and the parameter search that never sees its test part (`tune`)."""
