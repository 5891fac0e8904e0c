//! `makonis siem replay` (Sigma rules over log files, offline) and `makonis siem
//! import-sigma` (a folder of Sigma files as detection rule objects).

use std::io::{BufWriter, ErrorKind, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use makonis_api::security::{
    ClusterDetectionRule, ClusterDetectionRuleSpec, DetectionRule, DetectionRuleSpec, RuleSpec,
};
use makonis_siem_detect::{
    correlate::Config,
    detect::Preparation,
    fields::{Logsource, LogsourceKey},
    import::units,
    input::{Format, ReadOptions},
    mapping::SHIPPED,
    replay::{File, replay as run},
    rules::{Source, load},
};

use crate::cli::{ReplayFormat, SiemImportSigmaArgs, SiemReplayArgs};

/// Reads the rules and the files, replays, prints the alerts to standard output and what
/// could not be taken to standard error.
pub fn replay(args: SiemReplayArgs) -> anyhow::Result<()> {
    let rule_files = rule_files(&args.rules)?;
    let texts: Vec<(String, String)> = rule_files
        .iter()
        .map(|path| {
            Ok((
                path.display().to_string(),
                std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
            ))
        })
        .collect::<anyhow::Result<_>>()?;
    let sources: Vec<Source<'_>> = texts.iter().map(|(name, text)| Source { name, text }).collect();
    let (rules, errors) = load(&sources);
    for error in &errors {
        eprintln!("rule not taken: {error}");
    }
    if rules.rules.is_empty() {
        bail!("no rule under {} could be taken", args.rules.display());
    }
    let logs: Vec<(String, String)> = args
        .files
        .iter()
        .map(|path| {
            let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            Ok((path.display().to_string(), String::from_utf8_lossy(&bytes).into_owned()))
        })
        .collect::<anyhow::Result<_>>()?;
    let files: Vec<File<'_>> = logs.iter().map(|(path, text)| File { path, text }).collect();
    let read = ReadOptions {
        format: match args.format {
            ReplayFormat::Auto => Format::Auto,
            ReplayFormat::Syslog => Format::Syslog,
            ReplayFormat::WindowsJson => Format::WindowsJson,
            ReplayFormat::K8sAudit => Format::KubernetesAudit,
        },
        year: args.year,
        received: jiff::Timestamp::now(),
        logsource: logsource(&args.logsource)?,
    };
    let config = Config { allowed_lateness: args.allowed_lateness, ..Config::default() };
    let taken = (rules.rules.len(), rules.correlations.len());
    let calendar = args.calendar.holidays().context("--extra-day-off and --extra-working-day")?;
    let preparation = Preparation { mapping: SHIPPED.clone(), calendar };
    let outcome = run(rules, &preparation, config, &files, &read);
    print(outcome.alerts.iter().map(String::as_str))?;
    for (file, line, reason) in &outcome.unreadable {
        eprintln!("{file}:{line}: not read: {reason}");
    }
    if outcome.too_late > 0 {
        eprintln!(
            "{} events were more than {} behind the latest one and were not correlated (raise --allowed-lateness)",
            outcome.too_late, args.allowed_lateness
        );
    }
    eprintln!(
        "{} events, {} alerts; {} rules and {} correlations taken, {} not taken; {} records not read",
        outcome.events,
        outcome.alerts.len(),
        taken.0,
        taken.1,
        errors.len(),
        outcome.unreadable.len()
    );
    Ok(())
}

/// The rule files: the file given, or every `*.yml` and `*.yaml` under the folder, in
/// path order.
fn rule_files(path: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let metadata = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    if metadata.is_file() {
        return Ok(vec![path.to_owned()]);
    }
    let mut files = Vec::new();
    let mut folders = vec![path.to_owned()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).with_context(|| format!("reading {}", folder.display()))? {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// `--logsource KEY=VALUE` options as attributes.
fn logsource(options: &[String]) -> anyhow::Result<Logsource> {
    let mut logsource = Logsource::default();
    for option in options {
        let Some((key, value)) = option.split_once('=') else {
            bail!("--logsource {option:?}: write KEY=VALUE, e.g. service=auth");
        };
        let key = LogsourceKey::parse(key.trim()).with_context(|| format!("--logsource {option:?}"))?;
        if value.trim().is_empty() {
            bail!("--logsource {option:?}: the value is empty");
        }
        logsource.insert(key, value.trim());
    }
    Ok(logsource)
}

/// Prints the units of a folder of Sigma files as detection rule objects.
pub fn import(args: SiemImportSigmaArgs) -> anyhow::Result<()> {
    let texts = rule_texts(&args.dir)?;
    let sources: Vec<Source<'_>> = texts.iter().map(|(name, text)| Source { name, text }).collect();
    let (units, errors) = units(&sources);
    let mut objects = Vec::new();
    for unit in &units {
        let mut labels = std::collections::BTreeMap::new();
        labels.insert("app.kubernetes.io/managed-by".to_owned(), "makonis-import-sigma".to_owned());
        let mut annotations = std::collections::BTreeMap::new();
        annotations.insert("makonis.lv/sigma-title".to_owned(), unit.title.clone());
        annotations.insert("makonis.lv/sigma-source".to_owned(), unit.source.clone());
        if let Some(id) = &unit.id {
            annotations.insert("makonis.lv/sigma-id".to_owned(), id.clone());
        }
        let yaml = match &args.namespace {
            Some(namespace) => {
                let mut object = DetectionRule::new(&unit.name, DetectionRuleSpec { rule: rule_spec(unit, &args) });
                object.metadata.namespace = Some(namespace.clone());
                object.metadata.labels = Some(labels);
                object.metadata.annotations = Some(annotations);
                serde_yaml_ng::to_string(&object)?
            }
            None => {
                let mut object = ClusterDetectionRule::new(
                    &unit.name,
                    ClusterDetectionRuleSpec { rule: rule_spec(unit, &args), agencies: args.agencies.clone() },
                );
                object.metadata.labels = Some(labels);
                object.metadata.annotations = Some(annotations);
                serde_yaml_ng::to_string(&object)?
            }
        };
        objects.push(format!("---\n{}", yaml.trim_end()));
    }
    print(objects.iter().map(String::as_str))?;
    for error in &errors {
        eprintln!("not taken: {error}");
    }
    eprintln!("{} detection rule objects written, {} rules not taken", units.len(), errors.len());
    Ok(())
}

/// The rule of an imported unit, enabled unless `--disabled`.
fn rule_spec(unit: &makonis_siem_detect::import::Unit, args: &SiemImportSigmaArgs) -> RuleSpec {
    RuleSpec { sigma: unit.sigma.clone(), enabled: !args.disabled, severity: None }
}

/// Prints lines to standard output; a reader that stopped reading (`| head`) ends the
/// printing quietly.
fn print<'a>(mut lines: impl Iterator<Item = &'a str>) -> std::io::Result<()> {
    let mut out = BufWriter::new(std::io::stdout().lock());
    let written = lines.try_for_each(|line| writeln!(out, "{line}")).and_then(|()| out.flush());
    match written {
        Err(error) if error.kind() == ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// The text of every rule file under a folder (or of one file), with its path.
fn rule_texts(path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    rule_files(path)?
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            Ok((path.display().to_string(), text))
        })
        .collect()
}
