use super::*;

fn options(format: Format) -> ReadOptions {
    ReadOptions {
        format,
        year: Some(2025),
        received: "2026-12-07T00:00:00Z".parse().unwrap(),
        logsource: Logsource::default(),
    }
}

const MIXED: &str = r##"Dec  6 10:00:00 web1 sshd[1]: Failed password for root from 10.0.0.1 port 1 ssh2
{"kind": "Event", "apiVersion": "audit.k8s.io/v1", "verb": "create", "requestReceivedTimestamp": "2026-12-06T10:00:01Z"}

{
  "Event": {
    "System": {"EventID": 4625, "Channel": "Security", "TimeCreated": {"#attributes": {"SystemTime": "2026-12-06T10:00:02Z"}}}
  }
}
[{"EventID": 4624, "Channel": "Security"},
 {"EventID": 4634, "Channel": "Security"}]
<34>1 2026-12-06T10:00:03Z host app - - - hello
{"not": "an event"}
{"broken":
"##;

#[test]
fn a_mixed_file_gives_each_record_the_line_it_starts_on() {
    let reads = read(MIXED, &options(Format::Auto));
    let lines: Vec<usize> = reads.iter().map(|r| r.line).collect();
    assert_eq!(lines, [1, 2, 4, 9, 10, 11, 12, 13]);
    let products: Vec<String> = reads
        .iter()
        .map(|r| {
            r.outcome.as_ref().map(|rec| rec.logsource.product.join(",")).unwrap_or_else(|e| format!("error: {e}"))
        })
        .collect();
    assert_eq!(products[..6], ["linux", "kubernetes", "windows", "windows", "windows", "linux"]);
    assert!(products[6].contains("not a Windows event"), "{}", products[6]);
    assert_eq!(products[7], "linux", "text that is not JSON is a syslog line in auto");
    assert_eq!(reads[0].outcome.as_ref().unwrap().time.to_string(), "2025-12-06T10:00:00Z");
    assert!(!reads[0].outcome.as_ref().unwrap().fields.as_object().unwrap().contains_key("facility"));
}

#[test]
fn a_format_that_is_named_refuses_what_it_does_not_hold() {
    let reads = read(MIXED, &options(Format::WindowsJson));
    assert!(matches!(reads[0].outcome, Err(Unreadable::Text)));
    assert!(reads.iter().any(|r| r.line == 13 && matches!(r.outcome, Err(Unreadable::Json(_)))));
    let syslog = read("{\"EventID\": 1}\nnot json\n", &options(Format::Syslog));
    assert_eq!(syslog[0].outcome.as_ref().unwrap().logsource.product, ["windows"], "a message that is a JSON event");
    assert_eq!(syslog[1].outcome.as_ref().unwrap().logsource.product, ["linux"]);
}

#[test]
fn logsource_attributes_given_for_the_file_are_carried_by_every_record() {
    let mut options = options(Format::Auto);
    options.logsource.insert(crate::fields::LogsourceKey::Service, "auth");
    let reads = read("Dec  6 10:00:00 web1 sshd[1]: x\n", &options);
    assert_eq!(reads[0].outcome.as_ref().unwrap().logsource.service, ["sshd", "auth"]);
}

#[test]
fn crlf_lines_and_blank_lines_are_read() {
    let reads =
        read("\r\n<13>Dec  6 10:00:00 a b: one\r\n\r\n<13>Dec  6 10:00:01 a b: two\r\n", &options(Format::Syslog));
    assert_eq!(reads.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 4]);
    assert_eq!(reads[1].outcome.as_ref().unwrap().fields["message"], "two");
}

#[test]
fn samba_audit_is_read_alone_and_inside_a_syslog_message() {
    let alone = r#"{"timestamp": "2026-12-07T00:02:42.5+0000", "type": "Authentication", "Authentication": {"eventId": 4625, "status": "NT_STATUS_WRONG_PASSWORD"}}"#;
    let forwarded = format!("<38>1 2026-12-07T00:02:43Z dc1 samba - - - JSON Authentication: {alone}");
    for text in [alone.to_owned(), forwarded] {
        let reads = read(&text, &options(Format::Auto));
        let record = reads[0].outcome.as_ref().unwrap();
        assert_eq!(record.fields["EventID"], 4625);
        assert_eq!(record.fields["SubStatus"], "0xc000006a");
        assert_eq!(record.logsource.service, ["security"]);
        assert_eq!(record.time.to_string(), "2026-12-07T00:02:42.5Z");
    }
}

#[test]
fn a_record_without_a_time_takes_the_time_of_the_one_before_it() {
    let reads = read("Dec  6 10:00:01 web1 sshd[1]: one\nno header here\n{\"EventID\": 1}\n", &options(Format::Auto));
    let times: Vec<String> = reads.iter().map(|r| r.outcome.as_ref().unwrap().time.to_string()).collect();
    assert_eq!(times, ["2025-12-06T10:00:01Z"; 3]);
    let first = read("no header here\n", &options(Format::Auto));
    assert_eq!(first[0].outcome.as_ref().unwrap().time.to_string(), "2026-12-07T00:00:00Z");
}

#[test]
fn a_stored_event_is_read_at_the_time_the_store_keeps_it_by() {
    let time: Timestamp = "2026-12-06T08:00:00Z".parse().unwrap();
    let syslog = stored_record(
        b"<86>Dec  6 10:00:00 web1 sshd[1]: Failed password for root from 10.0.0.1 port 1 ssh2",
        time,
        time,
    )
    .unwrap();
    assert_eq!((syslog.time, syslog.fields["timestamp"].as_str()), (time, Some("2026-12-06T08:00:00Z")));
    assert_eq!(syslog.fields["user.name"], "root");
    let audit =
        stored_record(br#"{"kind": "Event", "apiVersion": "audit.k8s.io/v1", "verb": "get"}"#, time, time).unwrap();
    assert_eq!(audit.logsource.product, ["kubernetes"]);
    assert!(stored_record(b"{\"neither\": 1}", time, time).is_err());
}
