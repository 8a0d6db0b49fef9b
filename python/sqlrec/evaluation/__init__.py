"""Offline evaluation: the temporal split (`split`), the metrics (`metrics`), the datasets
(`datasets`), the whole protocol (`protocol`), its report (`report`) and the parameter search
that never sees its test part (`tune`), over one search space (`space`) and scored on the
Python twin of the dbt models (`twin`)."""
