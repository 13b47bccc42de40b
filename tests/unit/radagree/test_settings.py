"""Configuration: TOML file, environment overrides, unknown keys named, secrets masked."""

from __future__ import annotations

from click.testing import CliRunner

from radagree.cli import main


def test_check_config_prints_effective_values_with_secrets_masked(tmp_path, monkeypatch):
    path = tmp_path / "radagree.toml"
    path.write_text('[fhir]\nbase_url = "https://fhir.example/r4"\ntoken = "s3cr3t-token"\n'
                    '[mllp]\nport = 2577\n')
    monkeypatch.setenv("RADAGREE_MLLP__PORT", "2590")
    monkeypatch.setenv("RADAGREE_STORE__URL", "postgresql://u:pw@db/radagree")
    result = CliRunner().invoke(main, ["check-config", "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert '"port": 2590' in result.output  # the environment wins over the file
    assert "https://fhir.example/r4" in result.output
    assert "s3cr3t-token" not in result.output and "**********" in result.output


def test_invalid_keys_are_named_with_the_reason(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[mllp]\nport = 70000\nbogus = 1\n[scoring]\nclassifier = 'magic'\n")
    result = CliRunner().invoke(main, ["check-config", "--config", str(path)])
    assert result.exit_code == 2
    assert "mllp.port: Input should be less than or equal to 65535" in result.output
    assert "mllp.bogus: Extra inputs are not permitted" in result.output
    assert "scoring.classifier" in result.output


def test_missing_file_and_broken_toml(tmp_path):
    missing = CliRunner().invoke(main, ["check-config", "--config", str(tmp_path / "no.toml")])
    assert missing.exit_code == 1 and "configuration file not found" in missing.output
    broken = tmp_path / "broken.toml"
    broken.write_text("[mllp\nport = 1\n")
    result = CliRunner().invoke(main, ["check-config", "--config", str(broken)])
    assert result.exit_code == 2 and "broken.toml" in result.output


def test_llm_settings_have_one_home(tmp_path, monkeypatch):
    """`[llm]` is the only source of LLM settings: a `[scoring.llm]` table (or its environment
    form) is refused, naming where the keys belong, not silently overwritten."""
    path = tmp_path / "radagree.toml"
    path.write_text('[scoring]\nclassifier = "llm"\n[scoring.llm]\nbase_url = "http://x/v1"\n')
    result = CliRunner().invoke(main, ["check-config", "--config", str(path)])
    assert result.exit_code == 2, result.output
    assert "top-level [llm] section" in result.output
    path.write_text('[llm]\nbase_url = "http://vllm:8000/v1"\nmodel = "m"\n')
    monkeypatch.setenv("RADAGREE_SCORING__LLM__MODEL", "other")
    result = CliRunner().invoke(main, ["check-config", "--config", str(path)])
    assert result.exit_code == 2 and "top-level [llm] section" in result.output
    monkeypatch.delenv("RADAGREE_SCORING__LLM__MODEL")
    result = CliRunner().invoke(main, ["check-config", "--config", str(path)])
    assert result.exit_code == 0 and "http://vllm:8000/v1" in result.output
