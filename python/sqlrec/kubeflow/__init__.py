"""sqlrec on Kubeflow: the training pipeline (KFP v2), its quality gate and publishing, its
recurring run, and Katib's search over the pipeline's parameters.

- `publish`: the served warehouse and the candidate a run builds beside it, the gate, and the
  step that makes a candidate the served build (no Kubeflow needed);
- `steps`: what each pipeline task does, as plain functions (no Kubeflow needed);
- `components`, `pipeline`: the KFP components and the one pipeline function, compiled for a
  cluster or run here with ``kfp.local`` (needs ``sqlrec[kubeflow]``);
- `katib`: the Experiment and the trial command (no Kubeflow needed).
"""
