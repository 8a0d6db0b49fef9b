"""The pipeline: dbt runs on a lake (`build`), the whole personalised job (`refresh`: build,
train ALS, build the blend) and the demo on generated data. Modules: `dbt` (running dbt),
`build` (build and refresh), `demo`."""
