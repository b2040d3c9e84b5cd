//! The scheduler files in deploy/ as a cluster would read them, without a cluster: the
//! Kubernetes Jobs parsed as YAML (PyYAML, Debian's python3-yaml: YAML 1.1 like Kubernetes' own
//! parser) with the fields an Indexed Job of N shards needs, the Containerfile against
//! scripts/install-deps.sh, and the Slurm scripts run by bash with a stand-in kitap that records
//! what it was given. tests/slurm.rs runs the Slurm scripts on a real Slurm.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn text(path: &str) -> String {
    std::fs::read_to_string(repo(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The documents of a YAML file, as JSON values (empty documents left out).
fn yaml_docs(path: &str) -> Vec<Value> {
    let script = "import json,sys,yaml\n\
docs=[d for d in yaml.safe_load_all(open(sys.argv[1], encoding='utf-8')) if d is not None]\n\
json.dump(docs, sys.stdout)";
    let o = Command::new("/usr/bin/python3")
        .args(["-c", script])
        .arg(repo(path))
        .output()
        .expect("/usr/bin/python3 runs");
    assert!(
        o.status.success(),
        "{path} does not parse as YAML (python3-yaml: see scripts/install-deps.sh):\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

fn kind<'d>(docs: &'d [Value], kind: &str, name: &str) -> &'d Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

fn convert_job() -> Value {
    kind(
        &yaml_docs("deploy/k8s/kitap-indexed-job.yaml"),
        "Job",
        "kitap-convert",
    )
    .clone()
}

fn merge_job() -> Value {
    kind(
        &yaml_docs("deploy/k8s/kitap-merge-job.yaml"),
        "Job",
        "kitap-merge",
    )
    .clone()
}

fn container(job: &Value) -> &Value {
    let containers = job["spec"]["template"]["spec"]["containers"]
        .as_array()
        .expect("containers");
    assert_eq!(containers.len(), 1);
    &containers[0]
}

fn env<'c>(container: &'c Value, name: &str) -> &'c Value {
    container["env"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no env {name}"))
}

/// The container's command line as one string of words.
fn command_line(container: &Value) -> String {
    ["command", "args"]
        .iter()
        .flat_map(|k| container[*k].as_array().cloned().unwrap_or_default())
        .map(|v| v.as_str().expect("command words are strings").to_string())
        .collect::<Vec<_>>()
        .join(" ")
        .replace("\\\n", " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A Kubernetes quantity of memory in MiB (`2560Mi`, `2Gi`).
fn mib(quantity: &Value) -> u64 {
    let q = quantity.as_str().expect("a quantity string");
    if let Some(n) = q.strip_suffix("Mi") {
        n.parse().unwrap()
    } else if let Some(n) = q.strip_suffix("Gi") {
        n.parse::<u64>().unwrap() * 1024
    } else {
        panic!("memory {q}: write it in Mi or Gi")
    }
}

/// A whole number of CPUs (`"2"` or `2`).
fn cpus(quantity: &Value) -> u64 {
    match quantity {
        Value::Number(n) => n.as_u64().unwrap(),
        Value::String(s) => s.parse().unwrap_or_else(|_| panic!("cpu {s}: whole CPUs")),
        _ => panic!("cpu {quantity}"),
    }
}

/// N of the Indexed Job.
fn shards() -> u64 {
    convert_job()["spec"]["completions"].as_u64().unwrap()
}

#[test]
fn the_convert_job_is_an_indexed_job_of_n_shards() {
    let job = convert_job();
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"], "Indexed");
    let n = shards();
    assert!(n >= 2, "an example of several shards");
    assert_eq!(spec["parallelism"].as_u64(), Some(n));
    let c = container(&job);
    assert_eq!(env(c, "KITAP_SHARDS")["value"], n.to_string());
    assert_eq!(spec["template"]["spec"]["restartPolicy"], "Never");
    let retries = spec["backoffLimitPerIndex"]
        .as_u64()
        .or(spec["backoffLimit"].as_u64())
        .expect("backoffLimitPerIndex or backoffLimit");
    assert!((1..=6).contains(&retries), "retries {retries}");
}

#[test]
fn the_run_id_is_the_jobs_uid_from_the_downward_api() {
    let job = convert_job();
    assert_eq!(
        env(container(&job), "KITAP_RUN")["valueFrom"]["fieldRef"]["fieldPath"],
        "metadata.labels['batch.kubernetes.io/controller-uid']"
    );
}

#[test]
fn each_pod_converts_its_shard_with_one_worker_per_cpu() {
    let job = convert_job();
    let c = container(&job);
    let line = command_line(c);
    let limit = cpus(&c["resources"]["limits"]["cpu"]);
    let expected = format!("kitap convert /data/scans -o /data/out --shard auto --jobs {limit} ");
    assert!(line.contains(&expected), "{expected:?} not in {line:?}");
    assert!(line.contains("--quiet"), "{line}");
    // kitap's budget is the container's limit (it would otherwise take 3/4 of the node's
    // MemAvailable, past the limit).
    assert!(
        line.contains("--max-memory \"${KITAP_MEMORY_MIB}M\""),
        "{line}"
    );
    let from = &env(c, "KITAP_MEMORY_MIB")["valueFrom"]["resourceFieldRef"];
    assert_eq!(from["resource"], "limits.memory");
    assert_eq!(from["divisor"], "1Mi");
    // Exit 1 (a page failed, recorded) ends the pod well; any other failure keeps its code.
    assert!(line.contains("if [ \"$code\" -eq 1 ]"), "{line}");
    assert!(line.contains("exit \"$code\""), "{line}");
}

#[test]
fn the_pods_are_guaranteed_their_cpus_and_memory() {
    for job in [convert_job(), merge_job()] {
        let r = &container(&job)["resources"];
        assert_eq!(r["requests"], r["limits"], "{}", job["metadata"]["name"]);
        assert!(cpus(&r["limits"]["cpu"]) >= 1);
        assert!(mib(&r["limits"]["memory"]) >= 512);
    }
}

#[test]
fn scans_and_out_are_on_one_read_write_many_claim() {
    let docs = yaml_docs("deploy/k8s/kitap-indexed-job.yaml");
    let pvc = docs
        .iter()
        .find(|d| d["kind"] == "PersistentVolumeClaim")
        .expect("the PersistentVolumeClaim");
    assert_eq!(
        pvc["spec"]["accessModes"],
        serde_json::json!(["ReadWriteMany"])
    );
    let claim = pvc["metadata"]["name"].as_str().unwrap();
    for (job, mounts) in [
        (convert_job(), vec!["/data/scans", "/data/out"]),
        (merge_job(), vec!["/data/out"]),
    ] {
        let pod = &job["spec"]["template"]["spec"];
        let volume = &pod["volumes"][0];
        assert_eq!(volume["persistentVolumeClaim"]["claimName"], claim);
        let mounted: Vec<&str> = container(&job)["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .inspect(|m| assert_eq!(m["name"], volume["name"]))
            .map(|m| m["mountPath"].as_str().unwrap())
            .collect();
        assert_eq!(mounted, mounts);
    }
}

#[test]
fn the_merge_job_waits_for_all_n_shards() {
    let job = merge_job();
    let line = command_line(container(&job));
    assert!(
        line.starts_with(&format!("merge /data/out --shards {}", shards())),
        "{line}"
    );
    assert_eq!(job["spec"]["template"]["spec"]["restartPolicy"], "Never");
    // Incomplete (1) and refused (2) are final: no retry.
    let rules = job["spec"]["podFailurePolicy"]["rules"].as_array().unwrap();
    assert!(rules.iter().any(
        |r| r["action"] == "FailJob" && r["onExitCodes"]["values"] == serde_json::json!([1, 2])
    ));
}

/// The packages one `apt-get install` line of a shell or Containerfile text installs, with
/// continuation lines joined.
fn apt_packages(text: &str) -> Vec<String> {
    let joined = text.replace("\\\n", " ");
    let mut packages = Vec::new();
    for line in joined.lines() {
        if let Some((_, rest)) = line.split_once("apt-get install") {
            let rest = rest.split("&&").next().unwrap();
            packages.extend(
                rest.split_whitespace()
                    .filter(|w| !w.starts_with('-'))
                    .map(str::to_string),
            );
        }
    }
    packages
}

/// scripts/install-deps.sh's `packages=( … )` list.
fn install_deps_packages() -> Vec<String> {
    let script = text("scripts/install-deps.sh");
    let list = script
        .split_once("packages=(")
        .and_then(|(_, rest)| rest.split_once(')'))
        .expect("packages=( … ) in scripts/install-deps.sh")
        .0;
    list.split_whitespace().map(str::to_string).collect()
}

/// The Containerfile's stages: (FROM line, the stage's text).
fn stages() -> Vec<(String, String)> {
    let file = text("deploy/Containerfile");
    let mut stages: Vec<(String, String)> = Vec::new();
    for line in file.lines() {
        if line.starts_with("FROM ") {
            stages.push((line.to_string(), String::new()));
        } else if let Some((_, body)) = stages.last_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    stages
}

#[test]
fn the_image_reads_every_language_a_plain_install_reads() {
    let deps = install_deps_packages();
    let tesseract: Vec<&String> = deps
        .iter()
        .filter(|p| p.starts_with("tesseract-ocr"))
        .collect();
    assert!(tesseract.len() > 10, "{tesseract:?}");
    let stages = stages();
    let (from, runtime) = stages.last().unwrap();
    assert_eq!(from, "FROM debian:12-slim");
    let installed = apt_packages(runtime);
    for p in &tesseract {
        assert!(
            installed.contains(p),
            "deploy/Containerfile does not install {p} (scripts/install-deps.sh does)"
        );
    }
    // And nothing of Tesseract that a plain install lacks.
    for p in installed.iter().filter(|p| p.starts_with("tesseract-ocr")) {
        assert!(deps.contains(p), "{p} is not in scripts/install-deps.sh");
    }
    assert!(runtime.contains("ENTRYPOINT [\"kitap\"]"), "{runtime}");
    assert!(
        runtime.contains("COPY --from=build /src/target/release/kitap /usr/local/bin/kitap"),
        "{runtime}"
    );
}

#[test]
fn the_image_is_built_with_the_build_packages_of_install_deps() {
    let stages = stages();
    let (from, build) = &stages[0];
    assert_eq!(from, "FROM rust:1-bookworm AS build");
    let installed = apt_packages(build);
    for p in [
        "pkg-config",
        "libclang-dev",
        "libtesseract-dev",
        "libleptonica-dev",
    ] {
        assert!(
            install_deps_packages().iter().any(|d| d == p),
            "{p} left scripts/install-deps.sh"
        );
        assert!(installed.iter().any(|i| i == p), "build stage lacks {p}");
    }
    assert!(
        build.contains("RUN cargo build --release --locked"),
        "{build}"
    );
}

fn bash_n(path: &str) {
    let o = Command::new("bash")
        .arg("-n")
        .arg(repo(path))
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "bash -n {path}:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn the_slurm_scripts_are_valid_bash() {
    for script in [
        "deploy/slurm/kitap-array.sbatch",
        "deploy/slurm/kitap-merge.sbatch",
        "deploy/slurm/slurm-local",
    ] {
        bash_n(script);
    }
    let array = text("deploy/slurm/kitap-array.sbatch");
    assert!(array.contains("--shard auto"));
    for directive in [
        "#SBATCH --array=0-2\n",
        "#SBATCH --output=%x-%A_%a.out\n",
        "#SBATCH --job-name=kitap\n",
    ] {
        assert!(array.contains(directive), "{directive}");
    }
    let merge = text("deploy/slurm/kitap-merge.sbatch");
    assert!(merge.contains("--dependency=afterany"));
    assert!(merge.contains("#SBATCH --cpus-per-task=1\n"));
}

/// `#SBATCH --NAME=VALUE` of a script.
fn sbatch_option(script: &str, name: &str) -> String {
    let prefix = format!("#SBATCH --{name}=");
    text(script)
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("{script}: no {prefix}"))
        .to_string()
}

#[test]
fn a_worker_has_the_same_memory_under_slurm_and_kubernetes() {
    let per_cpu = sbatch_option("deploy/slurm/kitap-array.sbatch", "mem-per-cpu");
    let per_cpu: u64 = per_cpu
        .strip_suffix('M')
        .unwrap_or_else(|| panic!("--mem-per-cpu={per_cpu}: in M"))
        .parse()
        .unwrap();
    let job = convert_job();
    let limits = &container(&job)["resources"]["limits"];
    assert_eq!(mib(&limits["memory"]), per_cpu * cpus(&limits["cpu"]));
    // Enough for a worker's engines (100 MiB) and a 50 MP colour page as kitap estimates it
    // (18.5 bytes a pixel + 24 MiB), beside the process (20 MiB): README "Memory".
    let page = (50e6 * 18.5 / 1048576.0) as u64 + 24;
    assert!(per_cpu >= 20 + 100 + page, "{per_cpu} MiB a CPU");
}

/// A stand-in kitap that writes its arguments, one a line, and KITAP_RUN to `dir/args`, and
/// exits 7.
fn fake_kitap(dir: &Path) -> PathBuf {
    let bin = dir.join("kitap");
    std::fs::write(
        &bin,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" \"run=$KITAP_RUN\" > '{}'\nexit 7\n",
            dir.join("args").display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

/// Runs a Slurm script with bash and only the given environment, as a task would.
fn run_script(script: &str, vars: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new("bash");
    cmd.arg(repo(script))
        .env_clear()
        .env("PATH", "/usr/bin:/bin");
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn args_given(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("args"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn an_array_task_runs_its_shard_with_its_cpus_and_memory_and_keeps_kitaps_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let kitap = fake_kitap(dir.path());
    let o = run_script(
        "deploy/slurm/kitap-array.sbatch",
        &[
            ("SCANS", "/srv/scans"),
            ("OUT", "/srv/library"),
            ("KITAP", kitap.to_str().unwrap()),
            ("KITAP_RUN", "left-in-the-shell"),
            ("SLURM_ARRAY_JOB_ID", "41"),
            ("SLURM_ARRAY_TASK_ID", "2"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
            ("SLURM_CPUS_PER_TASK", "3"),
            ("SLURM_MEM_PER_CPU", "1280"),
        ],
    );
    assert_eq!(o.status.code(), Some(7), "{o:?}");
    assert_eq!(
        args_given(dir.path()),
        [
            "convert",
            "/srv/scans",
            "-o",
            "/srv/library",
            "--shard",
            "auto",
            "--jobs",
            "3",
            "--max-memory",
            "3840M",
            "--quiet",
            "run=41"
        ]
    );
}

#[test]
fn an_array_task_without_scans_out_or_an_array_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let kitap = fake_kitap(dir.path());
    let kitap = kitap.to_str().unwrap();
    for (vars, message) in [
        (vec![("OUT", "/o"), ("KITAP", kitap)], "SCANS is not set"),
        (vec![("SCANS", "/s"), ("KITAP", kitap)], "OUT is not set"),
        (
            vec![("SCANS", "/s"), ("OUT", "/o"), ("KITAP", kitap)],
            "not a job array task",
        ),
        (
            vec![
                ("SCANS", "/s"),
                ("OUT", "/o"),
                ("SLURM_ARRAY_TASK_ID", "0"),
                ("KITAP", "/nonexistent/kitap"),
            ],
            "kitap binary '/nonexistent/kitap' not found",
        ),
    ] {
        let o = run_script("deploy/slurm/kitap-array.sbatch", &vars);
        assert_eq!(o.status.code(), Some(2), "{vars:?}");
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(stderr.contains(message), "{vars:?}: {stderr}");
        assert!(!dir.path().join("args").exists(), "kitap ran for {vars:?}");
    }
}

#[test]
fn the_merge_job_merges_the_run_it_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let kitap = fake_kitap(dir.path());
    let kitap = kitap.to_str().unwrap();
    let o = run_script(
        "deploy/slurm/kitap-merge.sbatch",
        &[
            ("OUT", "/srv/library"),
            ("KITAP", kitap),
            ("KITAP_RUN", "41"),
        ],
    );
    assert_eq!(o.status.code(), Some(7), "{o:?}");
    assert_eq!(
        args_given(dir.path()),
        [
            "merge",
            "/srv/library",
            "--run",
            "41",
            "--wait-lock",
            "30m",
            "run=41"
        ]
    );
    let o = run_script(
        "deploy/slurm/kitap-merge.sbatch",
        &[("OUT", "/srv/library"), ("KITAP", kitap), ("SHARDS", "10")],
    );
    assert_eq!(o.status.code(), Some(7), "{o:?}");
    assert_eq!(
        args_given(dir.path()),
        [
            "merge",
            "/srv/library",
            "--shards",
            "10",
            "--wait-lock",
            "30m",
            "run="
        ]
    );
}
