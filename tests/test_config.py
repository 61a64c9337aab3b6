"""Settings: read once, validated with clear errors, and the token never shown."""

from __future__ import annotations

import logging

import pytest

from bot.config import ConfigError, RedactingFilter, Secret, load_settings

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GabcDE.abcdefghijklmnopqrstuvwxyz012345"


def test_defaults_without_any_setting(tmp_path):
    settings = load_settings({}, dotenv_path=None)
    assert settings.api_base_url == "https://discord.com/api/v10"
    assert settings.default_timezone == "Europe/London"
    assert str(settings.database) == "tweetchat.db"
    assert settings.guidance_file.is_file() and settings.chats_dir.is_dir()
    assert not settings.token
    with pytest.raises(ConfigError, match="DISCORD_TOKEN is not set"):
        settings.require_token()


def test_dotenv_is_read_and_the_environment_wins(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text(f"DISCORD_TOKEN={TOKEN}\nTWEETCHAT_TIMEZONE=Europe/Dublin\n"
                        "TWEETCHAT_LOG_LEVEL=debug\n")
    settings = load_settings({"TWEETCHAT_TIMEZONE": "america/new_york"}, dotenv_path=env_file)
    assert settings.require_token() == TOKEN
    assert settings.default_timezone == "America/New_York"
    assert settings.log_level == "DEBUG"


def test_the_token_never_appears_in_reprs_or_errors():
    settings = load_settings({"DISCORD_TOKEN": TOKEN}, dotenv_path=None)
    assert TOKEN not in repr(settings) and TOKEN not in str(settings)
    assert TOKEN not in f"{settings.token}"
    bad = TOKEN.replace(".", "")  # a half-pasted token
    with pytest.raises(ConfigError) as info:
        load_settings({"DISCORD_TOKEN": bad}, dotenv_path=None)
    assert bad not in str(info.value)
    assert "does not look like a bot token" in str(info.value)


def test_every_problem_is_reported_at_once(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_settings({
            "DISCORD_API_BASE_URL": "discord.com",
            "DISCORD_GATEWAY_URL": "http://x",
            "TWEETCHAT_TIMEZONE": "Europe/Londn",
            "TWEETCHAT_LOG_LEVEL": "LOUD",
            "TWEETCHAT_DATABASE": str(tmp_path / "no" / "such" / "dir" / "x.db"),
            "TWEETCHAT_DEV_GUILD": "my server",
            "TWEETCHAT_DATA_DIR": str(tmp_path),
        }, dotenv_path=None)
    problems = info.value.problems
    assert len(problems) == 7
    assert any(p.startswith(f"TWEETCHAT_DATA_DIR={tmp_path}: no guidance.toml") for p in problems)
    assert any("did you mean Europe/London" in p for p in problems)


def test_log_records_carrying_the_token_are_redacted(caplog):
    logger = logging.getLogger("test.redaction")
    logger.addFilter(RedactingFilter(Secret(TOKEN)))
    with caplog.at_level(logging.INFO, logger="test.redaction"):
        logger.info("Authorization: Bot %s", TOKEN)
    assert TOKEN not in caplog.text
    assert "Bot ********" in caplog.text


def test_env_example_and_readme_document_every_setting():
    from bot.config import SETTINGS_HELP
    from seed import ROOT

    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in SETTINGS_HELP:
        assert f"{name}=" in example, name
        assert f"`{name}`" in readme, name


def test_interaction_tokens_are_redacted_from_logs_at_every_level(caplog):
    import logging

    logger = logging.getLogger("test.redaction.interactions")
    logger.addFilter(RedactingFilter())
    token = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDpzZWNyZXQtdG9rZW4tdmFsdWU"
    with caplog.at_level(logging.DEBUG, logger=logger.name):
        logger.debug("POST https://discord.com/api/v10/webhooks/1234567890/%s/messages/@original", token)
        logger.info("POST /interactions/998877/%s/callback", token)
    assert token not in caplog.text
    assert "/webhooks/1234567890/********" in caplog.text
    assert "/interactions/998877/********/callback" in caplog.text


def test_shards_of_one_of_several_processes():
    from bot.config import ConfigError

    assert load_settings({}, dotenv_path=None).shards is None
    assert load_settings({"TWEETCHAT_SHARDS": "1, 0/4"}, dotenv_path=None).shards == ((0, 1), 4)
    for bad in ("2/2", "a/b", "0/", "/2", "0/0"):
        with pytest.raises(ConfigError) as info:
            load_settings({"TWEETCHAT_SHARDS": bad}, dotenv_path=None)
        assert "TWEETCHAT_SHARDS" in str(info.value) and "e.g. 0/2" in str(info.value)
