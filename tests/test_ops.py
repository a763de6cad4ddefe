#!/usr/bin/env python3
"""test_ops.py - checks of everything under deploy/ with the real tools.

usage: test_ops.py path/to/vgmo [unittest options]

- Alert rules: `promtool check rules`, `promtool test rules` (every alert has
  a firing case and a silent case), the seed's thresholds and durations,
  counters read only through increase()/rate(), annotations that name the
  GPU, and only metric names that the daemon exports.
- deploy/k8s/prometheusrule.yaml is what scripts/gen-prometheusrule.sh makes
  of deploy/prometheus/alerts.yml; the example prometheus.yml passes
  `promtool check config`.
- yamllint over deploy/.
- Kubernetes: no schema-aware validator (kubeconform, kubeval, kube-linter)
  is packaged by Debian bookworm, so the core kinds are checked against the
  Kubernetes API models of python3-kubernetes (every field known, every
  required field present, types right), and the rest structurally: a
  DaemonSet on GPU nodes, restricted security context, probes on the health
  port, selectors that select, a NetworkPolicy that opens 8080 to the
  monitoring namespace and labelled workers only, no RBAC, the ConfigMap's
  config.json accepted by vgmo, the Secret's token file git-ignored.
- Grafana dashboard: importable shape (schema 39, unique ids, template
  variables defined) and every query names only metrics the daemon exports
  (a live `vgmo serve --backend sim`) or docs/clients.md documents.
- Dockerfile: two bookworm-slim stages, runtime packages that provide every
  library the built vgmo needs (dpkg -S) and none that build, a numeric
  non-root user, a HEALTHCHECK on /health.
- systemd unit: hardening directives, DeviceAllow without path globs,
  `systemd-analyze verify` and `systemd-analyze security --offline` (skipped
  where systemd-analyze is missing).
- Every `vgmo serve` flag used by the DaemonSet, the Dockerfile and the unit
  exists.

Needs promtool, yamllint, python3-yaml and python3-kubernetes
(scripts/install-deps.sh).
"""
import glob
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import unittest

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import opslib  # noqa: E402

ROOT = opslib.ROOT
DEPLOY = os.path.join(ROOT, "deploy")
ALERTS = os.path.join(DEPLOY, "prometheus", "alerts.yml")
ALERT_TESTS = os.path.join(DEPLOY, "prometheus", "alerts.test.yml")
K8S = os.path.join(DEPLOY, "k8s")
DASHBOARD = os.path.join(DEPLOY, "grafana", "vgmo-dashboard.json")
DOCKERFILE = os.path.join(DEPLOY, "docker", "Dockerfile")
UNIT = os.path.join(DEPLOY, "systemd", "vgmo.service")
VGMO = None

# Filled once by setUpModule from a live daemon.
EXPORTED = {}       # family -> (type, label names) from /metrics
DOCUMENTED = set()  # client families from docs/clients.md
SERVE_FLAGS = set()  # long options of `vgmo serve`


def run(*args, **kw):
    return subprocess.run(list(args), capture_output=True, text=True,
                          env=opslib.clean_env(), **kw)


def load_yaml_docs(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def load_alert_rules():
    with open(ALERTS) as f:
        doc = yaml.safe_load(f)
    return [r for g in doc["groups"] for r in g["rules"] if "alert" in r]


def known_metric(name):
    return name in EXPORTED or name in DOCUMENTED


def scrape_families(*engine_args, register=False):
    """The families of one `vgmo serve` run's /metrics."""
    tmp = tempfile.mkdtemp(prefix="vgmo-test-ops-")
    try:
        d = opslib.Daemon(VGMO, os.path.join(tmp, "state"),
                          "--monitoring-interval", "0.5", *engine_args)
        try:
            if register:
                status, body = opslib.http("POST", d.base + "/v1/clients",
                                           {"name": "ops-test", "gpu": 0})
                if status in (200, 201) and isinstance(body, dict):
                    opslib.http("POST", "%s/v1/clients/%s/report" %
                                (d.base, body.get("id")),
                                {"items": 2, "peak_bytes": 8 << 30,
                                 "allocated_bytes": 4 << 30,
                                 "reserved_bytes": 6 << 30, "seconds": 0.5},
                                headers={"X-Vgmo-Client-Secret":
                                         body.get("secret", "")})
            status, text = opslib.http("GET", d.base + "/metrics")
            assert status == 200, text
            return opslib.metric_families(text)
        finally:
            rc = d.stop()
            assert rc == 0, "vgmo serve exited %s:\n%s" % (rc, d.stderr())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def setUpModule():
    """Reads the real families from `vgmo serve`: on the simulated GPU with
    one registered client (so that the per-client families are there when
    the daemon has them), and on the build's fake libnvidia-ml.so.1, which
    reports what the simulated GPU does not (reserved memory)."""
    global SERVE_FLAGS
    out = run(VGMO, "serve", "--help")
    assert out.returncode == 0, out.stderr
    SERVE_FLAGS = set(re.findall(r"--([a-z][a-z0-9-]*)", out.stdout))
    DOCUMENTED.update(opslib.documented_client_families())
    EXPORTED.update(scrape_families("--backend", "sim", register=True))
    fake = os.path.join(os.path.dirname(VGMO), "tests", "fake_nvml", "full",
                        "libnvidia-ml.so.1")
    if os.path.exists(fake):
        for name, value in scrape_families("--backend", "nvml",
                                           "--nvml-library", fake).items():
            EXPORTED.setdefault(name, value)[1].update(value[1])
    else:
        print("note: %s not built; families seen on the simulated GPU only"
              % fake, file=sys.stderr)
    missing = sorted(n for n in DOCUMENTED if n not in EXPORTED)
    if missing:
        print("note: documented in docs/clients.md, not exported by this "
              "build (yet): %s" % ", ".join(missing), file=sys.stderr)


# ====================================================================== alerts

SEED_ALERTS = {
    # name: (expression's comparison, for)
    "VLMMemoryOptimizerDown": ("== 0", "1m"),
    "VLMMemoryUsageHigh": ("vlm_memory_usage_percent > 0.9", "2m"),
    "VLMMemoryUsageCritical": ("vlm_memory_usage_percent > 0.95", "1m"),
    "VLMMemoryOptimizationFailed": ("vlm_memory_optimization_failures_total", None),
    "VLMMemoryFragmentationHigh": ("vlm_memory_fragmentation_percent > 30", "5m"),
    "VLMBatchSizeOptimizationActive": ("vlm_batch_size_optimizations_total", None),
}
ADDED_ALERTS = {
    "VLMGPUDown": "vlm_gpu_up",
    "VLMGPUSamplesStale": "vlm_last_sample_timestamp_seconds",
    "VLMGPUTemperatureHigh": "vlm_temperature_threshold_celsius",
    "VLMClientOutOfMemory": "vlm_client_ooms_total",
    "VLMClientLeaseExpired": "vlm_client_leases_expired_total",
}


class AlertRules(unittest.TestCase):
    def test_promtool_check_rules(self):
        r = run("promtool", "check", "rules", "--lint=all", "--lint-fatal",
                ALERTS)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("SUCCESS: %d rules found" % len(load_alert_rules()),
                      r.stdout)

    def test_promtool_unit_tests(self):
        r = run("promtool", "test", "rules", ALERT_TESTS)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("SUCCESS", r.stdout)

    def test_every_alert_fires_and_stays_silent_in_a_unit_test(self):
        with open(ALERT_TESTS) as f:
            tests = yaml.safe_load(f)["tests"]
        fires, silent = set(), set()
        for t in tests:
            for case in t.get("alert_rule_test", []):
                (fires if case.get("exp_alerts") else silent).add(
                    case["alertname"])
        names = {r["alert"] for r in load_alert_rules()}
        self.assertEqual(names - fires, set(), "alerts never seen firing")
        self.assertEqual(names - silent, set(), "alerts never seen silent")

    def test_seed_alerts_and_added_alerts_are_there(self):
        rules = {r["alert"]: r for r in load_alert_rules()}
        for name, (needle, hold) in SEED_ALERTS.items():
            self.assertIn(name, rules)
            self.assertIn(needle, " ".join(rules[name]["expr"].split()), name)
            self.assertEqual(rules[name].get("for"), hold, name)
        for name, metric in ADDED_ALERTS.items():
            self.assertIn(name, rules)
            self.assertIn(metric, rules[name]["expr"], name)

    def test_severity_summary_description(self):
        for r in load_alert_rules():
            self.assertIn(r["labels"].get("severity"),
                          ("critical", "warning", "info"), r["alert"])
            ann = r.get("annotations", {})
            self.assertTrue(ann.get("summary"), r["alert"])
            self.assertTrue(ann.get("description"), r["alert"])
            # An alert about a GPU says which one.
            labels = set()
            for name in opslib.promql_metric_names(r["expr"]):
                labels |= EXPORTED.get(name, (None, set()))[1]
            if "gpu" in labels or re.search(r"vlm_client_|vlm_gpu_|usage_percent|fragmentation",
                                            r["expr"]):
                self.assertIn("$labels.gpu", ann["description"], r["alert"])

    def test_counters_only_through_increase_or_rate(self):
        for r in load_alert_rules():
            expr = " ".join(r["expr"].split())
            for m in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*_total\b", expr):
                before = expr[:m.start()]
                self.assertRegex(before, r"\b(increase|rate)\($",
                                 "%s reads %s without increase()/rate()" %
                                 (r["alert"], m.group(0)))

    def test_exprs_read_only_exported_metrics(self):
        for r in load_alert_rules():
            for name in opslib.promql_metric_names(r["expr"]):
                self.assertTrue(name == "up" or known_metric(name),
                                "%s reads %s, which vgmo does not export" %
                                (r["alert"], name))

    def test_example_prometheus_config(self):
        path = os.path.join(DEPLOY, "prometheus", "prometheus.yml")
        r = run("promtool", "check", "config", path)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        with open(path) as f:
            cfg = yaml.safe_load(f)
        jobs = [j["job_name"] for j in cfg["scrape_configs"]]
        self.assertIn("vgmo", jobs)  # what up{job="vgmo"} expects
        self.assertIn("alerts.yml", cfg["rule_files"])

    def test_prometheusrule_is_generated_from_alerts(self):
        r = run(os.path.join(ROOT, "scripts", "gen-prometheusrule.sh"),
                "--check")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        (rule,) = load_yaml_docs(os.path.join(K8S, "prometheusrule.yaml"))
        with open(ALERTS) as f:
            self.assertEqual(rule["spec"], yaml.safe_load(f))
        self.assertEqual(rule["apiVersion"], "monitoring.coreos.com/v1")
        self.assertEqual(rule["kind"], "PrometheusRule")


class Yamllint(unittest.TestCase):
    def test_deploy_is_clean(self):
        r = run("yamllint", "-s", "-c", os.path.join(DEPLOY, ".yamllint"),
                DEPLOY)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


# ====================================================================== k8s

CORE_MODELS = {
    ("v1", "Namespace"): "V1Namespace",
    ("v1", "ServiceAccount"): "V1ServiceAccount",
    ("v1", "Service"): "V1Service",
    ("v1", "ConfigMap"): "V1ConfigMap",
    ("v1", "Secret"): "V1Secret",
    ("apps/v1", "DaemonSet"): "V1DaemonSet",
    ("networking.k8s.io/v1", "NetworkPolicy"): "V1NetworkPolicy",
}
CRDS = {("monitoring.coreos.com/v1", "ServiceMonitor"),
        ("monitoring.coreos.com/v1", "PrometheusRule")}


def schema_errors(value, typ, path):
    """Where `value` does not fit the python3-kubernetes model `typ`:
    unknown fields, wrong types."""
    from kubernetes import client
    errs = []
    m = re.fullmatch(r"list\[(.*)\]", typ)
    if m:
        if not isinstance(value, list):
            return ["%s: expected a list" % path]
        for i, v in enumerate(value):
            errs += schema_errors(v, m.group(1), "%s[%d]" % (path, i))
        return errs
    m = re.fullmatch(r"dict\(str, (.*)\)", typ)
    if m:
        if not isinstance(value, dict):
            return ["%s: expected a map" % path]
        for k, v in value.items():
            errs += schema_errors(v, m.group(1), "%s.%s" % (path, k))
        return errs
    simple = {"str": str, "int": int, "bool": bool, "float": (int, float)}
    if typ in simple:
        ok = isinstance(value, simple[typ]) and not (
            typ != "bool" and isinstance(value, bool))
        return [] if ok else ["%s: expected %s, got %r" % (path, typ, value)]
    if typ in ("object", "datetime", "date"):
        return []
    cls = getattr(client, typ)
    if not isinstance(value, dict):
        return ["%s: expected an object (%s)" % (path, typ)]
    by_json = {j: a for a, j in cls.attribute_map.items()}
    for k, v in value.items():
        if k not in by_json:
            errs.append("%s: unknown field %r of %s" % (path, k, typ))
            continue
        errs += schema_errors(v, cls.openapi_types[by_json[k]],
                              "%s.%s" % (path, k))
    return errs


def deserialize(obj, typ):
    """Builds the python3-kubernetes model, which refuses a missing required
    field with ValueError."""
    from kubernetes import client

    class Response:
        data = json.dumps(obj)
    return client.ApiClient().deserialize(Response(), typ)


def selects(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


class Kubernetes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(os.path.join(K8S, "kustomization.yaml")) as f:
            cls.kust = yaml.safe_load(f)
        cls.docs = {}
        for name in cls.kust["resources"]:
            for d in load_yaml_docs(os.path.join(K8S, name)):
                cls.docs[d["kind"]] = d
        cls.ds = cls.docs["DaemonSet"]
        cls.pod = cls.ds["spec"]["template"]["spec"]
        (cls.ctr,) = [c for c in cls.pod["containers"] if c.get("name") == "vgmo"] or [{}]
        cls.pod_labels = cls.ds["spec"]["template"]["metadata"]["labels"]

    def args(self):
        """The container's `vgmo serve` flags as {name: value}."""
        out = {}
        for a in self.ctr["args"][1:]:
            m = re.fullmatch(r"--([a-z-]+)(?:=(.*))?", a)
            self.assertTrue(m, "write flags as --name=value: %r" % a)
            out[m.group(1)] = m.group(2)
        return out

    def test_kustomization_lists_every_manifest(self):
        files = {os.path.basename(p) for p in glob.glob(os.path.join(K8S, "*.yaml"))}
        files.discard("kustomization.yaml")
        self.assertEqual(set(self.kust["resources"]), files)
        self.assertEqual(self.kust["namespace"], self.docs["Namespace"]["metadata"]["name"])
        for gen in self.kust.get("configMapGenerator", []):
            for f in gen["files"]:
                self.assertTrue(os.path.isfile(os.path.join(K8S, f)), f)

    def test_token_is_never_committed(self):
        (gen,) = self.kust["secretGenerator"]
        self.assertEqual(gen["files"], ["token"])
        if shutil.which("git") is None or run("git", "-C", ROOT, "rev-parse").returncode:
            self.skipTest("not a git checkout")
        r = run("git", "-C", ROOT, "check-ignore", "-q", "deploy/k8s/token")
        self.assertEqual(r.returncode, 0, "deploy/k8s/token is not git-ignored")
        r = run("git", "-C", ROOT, "ls-files", "deploy/k8s/token")
        self.assertEqual(r.stdout, "", "a token is committed")
        with open(os.path.join(ROOT, ".dockerignore")) as f:
            self.assertIn("deploy/k8s/token", f.read().split())

    def test_core_kinds_fit_the_kubernetes_api(self):
        errors = []
        for d in self.docs.values():
            key = (d["apiVersion"], d["kind"])
            if key in CRDS:
                continue
            self.assertIn(key, CORE_MODELS, "unexpected kind %s" % (key,))
            typ = CORE_MODELS[key]
            errors += schema_errors(d, typ, d["kind"])
            try:
                deserialize(d, typ)  # refuses a missing required field
            except (ValueError, TypeError) as e:
                errors.append("%s: %s" % (d["kind"], e))
        self.assertEqual(errors, [])

    def test_no_rbac(self):
        # vgmo never calls the Kubernetes API: no roles, no token mounted.
        for kind in ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"):
            self.assertNotIn(kind, self.docs)
        self.assertIs(self.docs["ServiceAccount"]["automountServiceAccountToken"], False)
        self.assertIs(self.pod["automountServiceAccountToken"], False)
        self.assertEqual(self.pod["serviceAccountName"],
                         self.docs["ServiceAccount"]["metadata"]["name"])

    def test_daemonset_on_gpu_nodes(self):
        self.assertNotIn("Deployment", self.docs)
        self.assertEqual(self.ds["apiVersion"], "apps/v1")
        self.assertTrue(selects(self.ds["spec"]["selector"]["matchLabels"],
                                self.pod_labels))
        self.assertEqual(self.pod["runtimeClassName"], "nvidia")
        placement = json.dumps([self.pod.get("nodeSelector"), self.pod.get("affinity")])
        self.assertIn("nvidia.com/gpu", placement)
        env = {e["name"]: e.get("value") for e in self.ctr["env"]}
        self.assertEqual(env.get("NVIDIA_VISIBLE_DEVICES"), "all")
        self.assertEqual(self.ctr["args"][0], "serve")

    def test_flags_volumes_and_ports_agree(self):
        a = self.args()
        mounts = {m["mountPath"]: m["name"] for m in self.ctr["volumeMounts"]}
        vols = {v["name"]: v for v in self.pod["volumes"]}

        def volume_of(path):
            for mp, name in mounts.items():
                if path == mp or path.startswith(mp.rstrip("/") + "/"):
                    return vols[name]
            self.fail("%s is on no volume" % path)

        cm = volume_of(a["config"])
        self.assertEqual(cm["configMap"]["name"],
                         self.kust["configMapGenerator"][0]["name"])
        self.assertEqual(os.path.basename(a["config"]),
                         self.kust["configMapGenerator"][0]["files"][0])
        secret = volume_of(a["auth-token-file"])
        self.assertEqual(secret["secret"]["secretName"],
                         self.kust["secretGenerator"][0]["name"])
        state = volume_of(a["state-dir"])
        self.assertIn("hostPath", state)
        self.assertEqual(a["listen"], "0.0.0.0:8080")
        self.assertEqual(a["health-listen"], "0.0.0.0:8081")
        self.assertEqual(a["backend"], "nvml")
        ports = {p["name"]: p["containerPort"] for p in self.ctr["ports"]}
        self.assertEqual(ports, {"http": 8080, "health": 8081})
        for probe, path in (("livenessProbe", "/health"), ("readinessProbe", "/ready")):
            get = self.ctr[probe]["httpGet"]
            self.assertEqual(get["path"], path)
            port = ports.get(get["port"], get["port"])
            self.assertEqual(port, 8081, "%s is not on the health port" % probe)

    def test_restricted_security_context(self):
        psc = self.pod["securityContext"]
        self.assertIs(psc["runAsNonRoot"], True)
        self.assertEqual(psc["seccompProfile"]["type"], "RuntimeDefault")
        sc = self.ctr["securityContext"]
        self.assertIs(sc["runAsNonRoot"], True)
        self.assertNotEqual(sc.get("runAsUser", psc.get("runAsUser")), 0)
        self.assertIs(sc["readOnlyRootFilesystem"], True)
        self.assertIs(sc["allowPrivilegeEscalation"], False)
        self.assertEqual(sc["capabilities"]["drop"], ["ALL"])
        self.assertNotIn("add", sc["capabilities"])
        self.assertNotIn("privileged", sc)
        for key in ("hostNetwork", "hostPID", "hostIPC"):
            self.assertNotIn(key, self.pod)
        # The one exception, documented in namespace.yaml: the init container
        # that chowns the hostPath runs as root with CHOWN and nothing else.
        for init in self.pod.get("initContainers", []):
            isc = init["securityContext"]
            self.assertIs(isc["allowPrivilegeEscalation"], False, init["name"])
            self.assertIs(isc["readOnlyRootFilesystem"], True, init["name"])
            self.assertEqual(isc["capabilities"]["drop"], ["ALL"], init["name"])
            self.assertLessEqual(set(isc["capabilities"].get("add", [])), {"CHOWN"})
            self.assertEqual(isc["seccompProfile"]["type"], "RuntimeDefault")
        # The image's user is the one the pod runs as.
        self.assertEqual("%s:%s" % (psc["runAsUser"], psc["runAsGroup"]),
                         dockerfile_stages()[-1]["USER"][-1])

    def test_service_and_servicemonitor_select_the_pods(self):
        svc = self.docs["Service"]
        self.assertTrue(selects(svc["spec"]["selector"], self.pod_labels))
        names = {p["name"] for p in self.ctr["ports"]}
        for p in svc["spec"]["ports"]:
            self.assertIn(p["targetPort"], names)
        sm = self.docs["ServiceMonitor"]
        self.assertTrue(selects(sm["spec"]["selector"]["matchLabels"],
                                svc["metadata"]["labels"]))
        svc_ports = {p["name"] for p in svc["spec"]["ports"]}
        for ep in sm["spec"]["endpoints"]:
            self.assertIn(ep["port"], svc_ports)
            self.assertEqual(ep.get("path", "/metrics"), "/metrics")
        # VLMMemoryOptimizerDown selects up{job="vgmo"}; the operator names
        # the job after the Service.
        self.assertNotIn("jobLabel", sm["spec"])
        self.assertEqual(svc["metadata"]["name"], "vgmo")

    def test_networkpolicy(self):
        np_ = self.docs["NetworkPolicy"]["spec"]
        self.assertTrue(selects(np_["podSelector"]["matchLabels"], self.pod_labels))
        self.assertEqual(set(np_["policyTypes"]), {"Ingress", "Egress"})
        self.assertEqual(np_.get("egress"), [])
        monitoring = False
        for rule in np_["ingress"]:
            self.assertTrue(rule.get("from"), "an ingress rule open to all")
            self.assertEqual([p["port"] for p in rule["ports"]], [8080])
            for peer in rule["from"]:
                self.assertNotIn("ipBlock", peer)
                ns = peer.get("namespaceSelector")
                if "podSelector" not in peer:
                    # A whole namespace: only the monitoring one.
                    self.assertEqual(ns, {"matchLabels": {
                        "kubernetes.io/metadata.name": "monitoring"}})
                    monitoring = True
                else:
                    self.assertTrue(peer["podSelector"].get("matchLabels"))
        self.assertTrue(monitoring)

    def test_configmap_config_json_is_accepted_by_vgmo(self):
        path = os.path.join(K8S, self.kust["configMapGenerator"][0]["files"][0])
        r = run(VGMO, "status", "--backend", "sim", "--config", path,
                "--sim-warmup", "1", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(path) as f:
            self.assertEqual(len(json.load(f)), 14)

    def test_prometheusrule_and_servicemonitor_shape(self):
        for kind in ("ServiceMonitor", "PrometheusRule"):
            d = self.docs[kind]
            self.assertEqual(d["apiVersion"], "monitoring.coreos.com/v1")
            self.assertEqual(set(d), {"apiVersion", "kind", "metadata", "spec"})
            self.assertTrue(d["metadata"]["name"])


# ====================================================================== grafana

GRAFANA_BUILTINS = {"__rate_interval", "__interval", "__range", "__range_s",
                    "__interval_ms"}
SEED_PANELS = ["GPU Memory Usage", "GPU Memory Usage Over Time", "GPU Memory Details",
               "GPU Utilization", "GPU Temperature", "Batch Size: Current vs Optimal",
               "Memory Optimization Actions", "Memory Fragmentation",
               "Memory Optimization Success Rate", "Memory Freed Over Time"]


def dashboard_queries(dash):
    """(where, expr) of every panel target and template variable query."""
    out = []
    for p in dash["panels"]:
        for t in p.get("targets", []):
            out.append((p["title"], t["expr"]))
    for v in dash["templating"]["list"]:
        if v["type"] == "query":
            q = v["query"]
            out.append(("$" + v["name"], q["query"] if isinstance(q, dict) else q))
    return out


class Dashboard(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(DASHBOARD) as f:
            cls.dash = json.load(f)

    def test_importable_shape(self):
        d = self.dash
        self.assertGreaterEqual(d["schemaVersion"], 39)
        self.assertIsNone(d["id"])
        self.assertTrue(d["uid"] and len(d["uid"]) <= 40)
        ids = [p["id"] for p in d["panels"]]
        self.assertEqual(len(ids), len(set(ids)))
        for p in d["panels"]:
            g = p["gridPos"]
            self.assertLessEqual(g["x"] + g["w"], 24, p["title"])
            if p["type"] == "row":
                continue
            self.assertEqual(p["datasource"], {"type": "prometheus", "uid": "${datasource}"})
            refs = [t["refId"] for t in p["targets"]]
            self.assertTrue(refs and len(refs) == len(set(refs)), p["title"])

    def test_panels_and_variables(self):
        titles = [p["title"] for p in self.dash["panels"]]
        for t in SEED_PANELS:
            self.assertIn(t, titles)
        names = {v["name"] for v in self.dash["templating"]["list"]}
        self.assertLessEqual({"datasource", "instance", "gpu", "client"}, names)
        for where, expr in dashboard_queries(self.dash):
            for var in re.findall(r"\$\{?(\w+)", expr):
                self.assertIn(var, names | GRAFANA_BUILTINS, where)
        used = set()
        for _, expr in dashboard_queries(self.dash):
            used |= opslib.promql_metric_names(expr)
        # Per-client batch sizes and budgets.
        for m in ("vlm_current_batch_size", "vlm_optimal_batch_size",
                  "vlm_client_budget_bytes"):
            self.assertIn(m, used)
        uncharted = sorted(f for f in EXPORTED if f not in used)
        if uncharted:
            print("note: exported, not on the dashboard: %s" % ", ".join(uncharted),
                  file=sys.stderr)

    def test_every_query_reads_exported_metrics(self):
        for where, expr in dashboard_queries(self.dash):
            names = opslib.promql_metric_names(expr)
            self.assertTrue(names, "%s: no metric in %r" % (where, expr))
            for name in names:
                self.assertTrue(known_metric(name),
                                "%s: %s is neither exported by vgmo serve nor "
                                "documented in docs/clients.md" % (where, name))


# ====================================================================== docker

def dockerfile_stages():
    """[{INSTRUCTION: [argument, ...]}] per stage, continuations joined."""
    with open(DOCKERFILE) as f:
        text = re.sub(r"\\\n", " ", f.read())
    stages = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        op, _, arg = line.partition(" ")
        op = op.upper()
        if op == "FROM":
            stages.append({})
        stages[-1].setdefault(op, []).append(arg.strip())
    return stages


def apt_packages(stage):
    pkgs = set()
    for cmd in stage.get("RUN", []):
        for m in re.finditer(r"apt-get install ([^&;|]*)", cmd):
            pkgs |= {w for w in m.group(1).split() if not w.startswith("-")}
    return pkgs


class Dockerfile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stages = dockerfile_stages()
        cls.runtime = cls.stages[-1]

    def test_multi_stage_bookworm_slim(self):
        self.assertGreaterEqual(len(self.stages), 2)
        for s in self.stages:
            self.assertRegex(s["FROM"][0], r"^debian:bookworm-slim\b")
        self.assertIn("COPY", self.runtime)
        self.assertTrue(any(c.startswith("--from=") for c in self.runtime["COPY"]))

    def test_builder_has_what_the_build_needs(self):
        build = apt_packages(self.stages[0])
        with open(os.path.join(ROOT, "scripts", "install-deps.sh")) as f:
            m = re.search(r'PACKAGES="([^"]*)"', f.read())
        # Test-only packages (unit tests, fuzzing) are not needed to
        # build the image's vgmo (built with -DVGMO_TESTS=OFF).
        test_only = {"libcmocka-dev", "libclang-rt-14-dev"}
        wanted = {p for p in m.group(1).split()
                  if p.endswith("-dev") and p not in test_only}
        wanted |= {"cmake", "make", "gcc", "pkg-config"}
        self.assertLessEqual(wanted, build)
        self.assertIn("-DVGMO_TESTS=OFF", " ".join(self.stages[0]["RUN"]))

    def test_runtime_has_only_runtime_libraries(self):
        pkgs = apt_packages(self.runtime)
        for p in pkgs:
            self.assertFalse(p.endswith("-dev"), p)
            self.assertNotIn(p, ("gcc", "cmake", "make", "pkg-config"))
        # libcurl is dlopen()ed by the client commands (lib/client/curl_dl.c).
        self.assertLessEqual({"libjansson4", "libmicrohttpd12", "libcurl4",
                              "ca-certificates"}, pkgs)
        if shutil.which("readelf") is None or shutil.which("dpkg") is None:
            self.skipTest("readelf or dpkg missing")
        r = run("readelf", "-d", VGMO)
        self.assertEqual(r.returncode, 0, r.stderr)
        libs = re.findall(r"\(NEEDED\).*\[(.+)\]", r.stdout)
        self.assertTrue(libs)
        for lib in libs:
            if re.match(r"lib(asan|ubsan)", lib):
                continue  # the sanitizer build's, not the image's
            r = run("dpkg", "-S", "*/" + lib)
            self.assertEqual(r.returncode, 0, "%s: %s" % (lib, r.stderr))
            owners = {line.split(":")[0] for line in r.stdout.splitlines()}
            self.assertTrue(owners & (pkgs | {"libc6"}),
                            "%s comes from %s, not installed in the image" %
                            (lib, owners))

    def test_user_health_and_entrypoint(self):
        user = self.runtime["USER"][-1]
        self.assertRegex(user, r"^[1-9][0-9]*:[1-9][0-9]*$")
        hc = self.runtime["HEALTHCHECK"][0]
        self.assertIn("http://127.0.0.1:8081/health", hc)
        if '"curl"' in hc:
            self.assertIn("curl", apt_packages(self.runtime))
        self.assertEqual(self.runtime["EXPOSE"], ["8080 8081"])
        self.assertEqual(json.loads(self.runtime["ENTRYPOINT"][0]), ["vgmo"])
        cmd = json.loads(self.runtime["CMD"][0])
        self.assertEqual(cmd[0], "serve")
        self.assertIn("--health-listen=0.0.0.0:8081", cmd)

    def test_dockerignore_keeps_builds_out(self):
        with open(os.path.join(ROOT, ".dockerignore")) as f:
            lines = f.read().split()
        for p in (".git", "build", "build-*"):
            self.assertIn(p, lines)


# ====================================================================== systemd

def unit_settings():
    out = {}
    with open(UNIT) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith(("#", ";", "[")):
                k, _, v = line.partition("=")
                out.setdefault(k, []).append(v)
    return out


class Systemd(unittest.TestCase):
    def test_hardening(self):
        s = unit_settings()
        self.assertEqual(s["NoNewPrivileges"], ["yes"])
        self.assertEqual(s["ProtectSystem"], ["strict"])
        self.assertEqual(s["StateDirectory"], ["vgmo"])
        self.assertTrue(s.get("DynamicUser") == ["yes"] or "User" in s)
        self.assertEqual(s["DevicePolicy"], ["closed"])
        allow = [v.split()[0] for v in s["DeviceAllow"]]
        self.assertIn("/dev/nvidiactl", allow)
        self.assertIn("/dev/nvidia-uvm", allow)
        # /dev/nvidia0..N: by device group (a path may not hold a wildcard).
        self.assertIn("char-nvidia", allow)
        for a in allow:
            self.assertFalse(a.startswith("/dev/") and re.search(r"[*?\[]", a), a)
        self.assertEqual(s["ExecReload"], ["/bin/kill -HUP $MAINPID"])

    def test_systemd_analyze_verify(self):
        if shutil.which("systemd-analyze") is None:
            self.skipTest("systemd-analyze is not installed")
        tmp = tempfile.mkdtemp(prefix="vgmo-test-unit-")
        try:
            # verify checks that ExecStart's program exists: point it at the
            # vgmo under test instead of the installed /usr/local/bin/vgmo.
            with open(UNIT) as f:
                text = f.read().replace("/usr/local/bin/vgmo", os.path.abspath(VGMO))
            path = os.path.join(tmp, "vgmo.service")
            with open(path, "w") as f:
                f.write(text)
            r = run("systemd-analyze", "verify", path)
            self.assertEqual((r.returncode, r.stdout + r.stderr), (0, ""))
            r = run("systemd-analyze", "security", "--offline=yes",
                    "--threshold=25", path)
            self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


# ====================================================================== flags

class ServeFlags(unittest.TestCase):
    def check(self, where, args):
        for a in args:
            m = re.match(r"--([a-z][a-z0-9-]*)", a)
            if m:
                self.assertIn(m.group(1), SERVE_FLAGS,
                              "%s: vgmo serve has no --%s" % (where, m.group(1)))

    def test_daemonset_dockerfile_and_unit_use_real_flags(self):
        ds = Kubernetes.ds if hasattr(Kubernetes, "ds") else None
        if ds is None:
            Kubernetes.setUpClass()
        (ctr,) = [c for c in Kubernetes.pod["containers"] if c.get("name") == "vgmo"]
        self.check("daemonset.yaml", ctr["args"])
        self.check("Dockerfile CMD", json.loads(dockerfile_stages()[-1]["CMD"][0]))
        (start,) = unit_settings()["ExecStart"]
        self.check("vgmo.service", shlex.split(start))


def main():
    global VGMO
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    VGMO = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)


if __name__ == "__main__":
    main()
