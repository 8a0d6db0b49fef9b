"""How the Python steps find a team's dbt project that installs sqlrec, its profile and its vars."""

from __future__ import annotations

from pathlib import Path

import yaml

from sqlrec import project

from helpers import PROJECT_DIR


def team_project(folder: Path, project_file: dict, installed: bool = True) -> Path:
    folder.mkdir()
    (folder / "dbt_project.yml").write_text(yaml.safe_dump(project_file))
    if installed:
        (folder / "dbt_packages").mkdir()
        (folder / "dbt_packages" / "sqlrec").symlink_to(PROJECT_DIR)
    return folder


def test_the_team_project_is_found_from_the_env_or_the_current_folder(tmp_path, monkeypatch):
    team = team_project(tmp_path / "shop", {"name": "shop", "profile": "shop"})
    other = team_project(tmp_path / "other", {"name": "other"}, installed=False)
    monkeypatch.delenv("SQLREC_PROJECT_DIR", raising=False)
    monkeypatch.chdir(team)
    assert project.project_dir() == team
    assert project.profile_name() == "shop"
    monkeypatch.chdir(other)  # a dbt project without sqlrec installed is not sqlrec's
    assert project.project_dir() == PROJECT_DIR
    assert project.profile_name() == "sqlrec"
    monkeypatch.setenv("SQLREC_PROJECT_DIR", str(team))
    assert project.project_dir() == team


def test_the_team_projects_vars_override_sqlrecs_defaults_as_dbt_does(tmp_path, monkeypatch):
    declared = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())["vars"]
    team = team_project(tmp_path / "shop", {"name": "shop", "vars": {
        "top_k": 7, "events_relation": "{{ ref('my_events') }}", "unrelated": 1,
        "sqlrec": {"top_k": 9, "half_life_days": 3}}})
    monkeypatch.setenv("SQLREC_PROJECT_DIR", str(team))
    values = project.dbt_var_defaults()
    assert set(values) == set(declared)  # only sqlrec's vars
    assert values["top_k"] == 9  # the package-scoped value wins over the global one
    assert values["half_life_days"] == 3
    assert values["events_relation"] == "{{ ref('my_events') }}"
    assert project.events_from_relation()
    assert values["similarity"] == declared["similarity"]
    monkeypatch.setenv("SQLREC_PROJECT_DIR", str(PROJECT_DIR))
    assert project.dbt_var_defaults() == declared
    assert not project.events_from_relation()
    assert project.events_from_relation({"events_relation": "main.events"})


def test_sqlrecs_own_project_is_found_without_the_checkout(tmp_path, monkeypatch):
    """Installed without the checkout (a wheel, the images), sqlrec's vars, profile and seeds come
    from the project run when it is sqlrec's, else from the team project's dbt_packages/."""
    monkeypatch.setattr(project, "_checkout", lambda: tmp_path / "no-checkout-here")
    monkeypatch.setenv("SQLREC_PROJECT_DIR", str(PROJECT_DIR))  # as the images set it
    assert project.package_dir() == PROJECT_DIR
    declared = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())["vars"]
    assert project.dbt_var_defaults() == declared
    team = team_project(tmp_path / "shop", {"name": "shop"})
    monkeypatch.setenv("SQLREC_PROJECT_DIR", str(team))
    assert project.package_dir() == PROJECT_DIR  # through dbt_packages/sqlrec
    assert project.dbt_var_defaults() == declared
