"""``-o go-template|jsonpath`` with ``--template``, and the ``-file`` forms,
on every verb that prints objects (issue 12)."""

from __future__ import annotations

from pathlib import Path

from shoal.client import Client

from tests.ctl.conftest import Shoal
from tests.integration.helpers import pod

NAMES = '{{range .items}}{{.metadata.name}}{{"\\n"}}{{end}}'


async def test_get_go_template_with_template_flag(shoal: Shoal, shoal_client: Client) -> None:
    for name in ("web", "db"):
        await shoal_client.create(pod(name))
    # the exact form of the Kubernetes tutorial; printed as is, as kubectl does
    listed = await shoal("get", "pods", "-o", "go-template", "--template", NAMES)
    assert (listed.code, listed.out) == (0, "db\nweb\n"), listed.err
    joined = await shoal("get", "pods", "-o", "go-template", "--template={{len .items}}")
    assert joined.out == "2"
    # --template alone means go-template, as in kubectl
    alone = await shoal("get", "pod", "web", "--template", "{{.metadata.name}}")
    assert alone.out == "web"
    path = await shoal("get", "pods", "-o", "jsonpath", "--template", "{.items[*].metadata.name}")
    assert path.out == "db web"
    one = await shoal("get", "pod/web", "-o=jsonpath={.metadata.name}")
    assert one.out == "web"


async def test_template_files(shoal: Shoal, shoal_client: Client, tmp_path: Path) -> None:
    await shoal_client.create(pod("web"))
    go_file = tmp_path / "names.tmpl"
    go_file.write_text(NAMES)
    jp_file = tmp_path / "names.jsonpath"
    jp_file.write_text('{range .items[*]}{.metadata.name}{"\\n"}{end}')
    for args in (
        ("-o", f"go-template-file={go_file}"),
        ("-o", "go-template-file", "--template", str(go_file)),
        ("-o", f"templatefile={go_file}"),
        ("-o", f"jsonpath-file={jp_file}"),
        ("-o", "jsonpath-file", "--template", str(jp_file)),
    ):
        result = await shoal("get", "pods", *args)
        assert (result.code, result.out) == (0, "web\n"), (args, result.err)
    missing = await shoal("get", "pods", "-o", f"go-template-file={tmp_path / 'none'}")
    assert missing.code != 0 and missing.err.startswith("error: error reading --template ")
    assert "Traceback" not in missing.err and len(missing.err.splitlines()) == 1
    empty = await shoal("get", "pods", "-o", "go-template")
    assert empty.code != 0
    assert "template format specified but no template given" in empty.err


async def test_templates_on_the_other_printing_verbs(
    shoal: Shoal, shoal_client: Client, tmp_path: Path
) -> None:
    name = ("-o", "go-template", "--template", "{{.kind}}/{{.metadata.name}}")
    made = await shoal("create", "deployment", "web", "--image=nginx:1.25", *name)
    assert (made.code, made.out) == (0, "Deployment/web"), made.err
    ran = await shoal("run", "job", "--image=busybox", "-o", "jsonpath", "--template",
                      "{.spec.containers[0].name}")  # fmt: skip
    assert (ran.code, ran.out) == (0, "job"), ran.err
    ns = await shoal("create", "namespace", "staging", *name)
    assert ns.out == "Namespace/staging"
    exposed = await shoal("expose", "deploy", "web", "--port=80", *name)
    assert exposed.out == "Service/web", exposed.err
    patched = await shoal("patch", "deploy", "web", "-p", '{"spec":{"replicas":2}}', "-o",
                          "go-template", "--template", "{{.spec.replicas}}")  # fmt: skip
    assert patched.out == "2", patched.err
    manifest = tmp_path / "cm.yaml"
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n")
    applied = await shoal("apply", "-f", str(manifest), *name)
    assert (applied.code, applied.out) == (0, "ConfigMap/cfg"), applied.err
    as_yaml = await shoal("apply", "-f", str(manifest), "-o", "yaml")
    assert "kind: ConfigMap" in as_yaml.out and "name: cfg" in as_yaml.out
    created = await shoal("create", "-f", str(manifest), "-n", "staging", *name)
    assert (created.code, created.out) == (0, "ConfigMap/cfg"), created.err
    events = await shoal("events", "-o", "go-template", "--template", "{{.kind}}")
    assert events.code == 0 and events.out in ("List", ""), events.err


async def test_config_view_prints_with_templates(shoal: Shoal, tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: a\n"
        "clusters: [{name: a, cluster: {server: '127.0.0.1:1'}}]\n"
        "users: [{name: a, user: {token: secret}}]\n"
        "contexts: [{name: a, context: {cluster: a, user: a}}]\n"
    )
    view = ("--config", str(config), "config", "view")
    path = await shoal(*view, "-o", "jsonpath={.users[0].name}", server=False)
    assert (path.code, path.out) == (0, "a"), path.err
    tmpl = await shoal(*view, "-o", "go-template", "--template", '{{index . "current-context"}}',
                       server=False)  # fmt: skip
    assert (tmpl.code, tmpl.out) == (0, "a"), tmpl.err
    token = await shoal(*view, "--raw", "--template", "{{range .users}}{{.user.token}}{{end}}",
                        server=False)  # fmt: skip
    assert token.out == "secret", token.err
    as_json = await shoal(*view, "-o", "json", server=False)
    assert '"token": "REDACTED"' in as_json.out
