"""The app manifest in the repository asks for exactly the scopes the Web API methods tenken calls need."""

import ast
from pathlib import Path

import yaml

from tests.conftest import ROOT

# Slack's documented scope for each method tenken calls (none: the method needs no scope).
SCOPES = {
    "auth_test": set(), "chat_getPermalink": set(), "chat_postMessage": {"chat:write"},
    "conversations_list": {"channels:read", "groups:read"}, "conversations_open": {"im:write"},
    "conversations_history": {"channels:history", "groups:history", "im:history"},
    "conversations_replies": {"channels:history", "groups:history", "im:history"},
    "files_upload_v2": {"files:write"}, "files_info": {"files:read"}, "users_list": {"users:read"},
    "users_lookupByEmail": {"users:read.email"},
}
DOWNLOAD = {"files:read"}  # url_private_download with the bot token


def called_methods() -> set[str]:
    tree = ast.parse((ROOT / "tenken" / "notify" / "slack.py").read_text(encoding="utf-8"))
    return {node.attr for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute)
            and node.value.attr == "client" and not node.attr.startswith("_") and node.attr not in ("retry_handlers", "base_url")}


def test_every_method_tenken_calls_is_known_and_the_manifest_grants_its_scopes_and_no_more():
    manifest = yaml.safe_load((ROOT / "slack" / "app-manifest.yaml").read_text(encoding="utf-8"))
    granted = set(manifest["oauth_config"]["scopes"]["bot"])
    methods = called_methods()

    assert methods and methods <= set(SCOPES), f"a Slack method without a known scope: {methods - set(SCOPES)}"
    needed = set().union(*(SCOPES[m] for m in methods)) | DOWNLOAD
    assert granted == needed


def test_the_readme_points_at_the_manifest():
    assert "slack/app-manifest.yaml" in (ROOT / "README.md").read_text(encoding="utf-8")
