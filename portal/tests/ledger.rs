//! The SLA ledger's SQL on both databases (the schema is the portal's): objectives kept
//! per incarnation, outages opened and closed, incidents linked to outages, the
//! declared days off, and what the monthly report reads.

mod support;

use jiff::civil::{Date, Weekday};
use makonis_slo::ledger::{IncidentRow, Ledger, ObjectiveRow};
use makonis_slo_core::{HOUR_MS, HolidayCalendar, Interval, MINUTE_MS, SupportHours, WeeklyWindow, Window};
use support::both_stores;

/// Some time in 2026, Unix ms.
const T0: i64 = 1_780_000_000_000;

fn row(namespace: &str, name: &str, probe: &str, created_at: i64) -> ObjectiveRow {
    ObjectiveRow {
        namespace: namespace.into(),
        name: name.into(),
        agency: namespace.trim_start_matches("agency-").into(),
        instance: name.into(),
        service: format!("Pakalpojums {name}"),
        probe: probe.into(),
        target_percent: 99.5,
        support: SupportHours::BusinessHours,
        window: Window::CalendarMonth,
        maintenance: vec![WeeklyWindow { weekday: Weekday::Saturday, start_minute: 22 * 60, duration_ms: 4 * HOUR_MS }],
        created_at,
    }
}

#[tokio::test]
async fn outages_incidents_and_objectives_round_trip_on_both_databases() {
    for (backend, store) in both_stores().await {
        let ledger = Ledger::new(store.pool().clone());
        let ns = format!("agency-l{}", makonis_portal::store::random_id(3));
        ledger.upsert_objective(&row(&ns, "dms", "dms", T0), T0).await.unwrap();
        ledger.upsert_objective(&row(&ns, "api", "", T0), T0).await.unwrap();

        // An outage opened and closed; one still open.
        let first = ledger.open_outage(&ns, "dms", "x", T0 + HOUR_MS, "HTTP 503 (expected 200–399)").await.unwrap();
        ledger.close_outage(&first, T0 + HOUR_MS + 30 * MINUTE_MS).await.unwrap();
        let second = ledger.open_outage(&ns, "dms", "x", T0 + 2 * HOUR_MS, "timed out after 5 s").await.unwrap();
        let open: Vec<_> = ledger.open_outages().await.unwrap().into_iter().filter(|o| o.namespace == ns).collect();
        assert_eq!(open.len(), 1, "{backend}");
        assert_eq!((open[0].id.as_str(), open[0].started_at), (second.as_str(), T0 + 2 * HOUR_MS), "{backend}");
        assert_eq!(ledger.open_outage_of(&ns, "dms").await.unwrap().map(|o| o.id), Some(second.clone()), "{backend}");
        let now = T0 + 3 * HOUR_MS;
        let spans = ledger.outages_of(&ns, "dms", T0, now).await.unwrap();
        let mut spans = spans.clone();
        spans.sort();
        assert_eq!(
            spans,
            vec![Interval::new(T0 + HOUR_MS, T0 + HOUR_MS + 30 * MINUTE_MS), Interval::new(T0 + 2 * HOUR_MS, now)],
            "{backend}: the open outage ends now"
        );

        // An incident links the probe's outages, and the open one that follows.
        let incident = IncidentRow {
            id: format!("inc-{}", makonis_portal::store::random_id(4)),
            agency: ns.trim_start_matches("agency-").into(),
            namespace: ns.clone(),
            instance: "dms".into(),
            objective: "dms".into(),
            rule: "ticket".into(),
            severity: "ticket".into(),
            summary: "burns".into(),
            opened_at: now,
            resolved_at: None,
        };
        ledger.create_incident(&incident, "dms", T0).await.unwrap();
        assert_eq!(ledger.open_incident(&ns, "dms").await.unwrap().map(|i| i.id), Some(incident.id.clone()));
        ledger.escalate_incident(&incident.id, "fast", "page").await.unwrap();
        ledger.close_outage(&second, now).await.unwrap();
        let third = ledger.open_outage(&ns, "dms", "x", now + MINUTE_MS, "HTTP 404").await.unwrap();
        let linked: Vec<(String, Option<String>)> =
            sqlx::query_as("SELECT id, incident_id FROM slo_outages WHERE namespace = $1 ORDER BY started_at")
                .bind(&ns)
                .fetch_all(store.pool())
                .await
                .unwrap();
        assert_eq!(
            linked,
            vec![
                (first.clone(), Some(incident.id.clone())),
                (second.clone(), Some(incident.id.clone())),
                (third.clone(), Some(incident.id.clone()))
            ],
            "{backend}: outages since the given time and those opened while it is open are linked"
        );
        ledger.resolve_incident(&incident.id, now + HOUR_MS).await.unwrap();
        assert_eq!(ledger.open_incident(&ns, "dms").await.unwrap(), None, "{backend}");
        let listed = ledger
            .incidents(Some(std::slice::from_ref(&incident.agency)), Interval::new(T0, now + 2 * HOUR_MS))
            .await
            .unwrap();
        assert_eq!(listed.len(), 1, "{backend}");
        assert_eq!((listed[0].severity.as_str(), listed[0].resolved_at), ("page", Some(now + HOUR_MS)), "{backend}");
        assert!(ledger.incidents(Some(&["nobody".into()]), Interval::new(T0, now)).await.unwrap().is_empty());

        // Deleted and created again: two incarnations, the first ending where the second
        // begins; the report reads both, with the probe's outages, and skips the
        // objective without a probe.
        let again = T0 + 5 * HOUR_MS;
        ledger.upsert_objective(&row(&ns, "dms", "dms", again), again).await.unwrap();
        let (objectives, outages) = ledger.report_inputs(None, Interval::new(T0, again + HOUR_MS)).await.unwrap();
        let ours: Vec<_> = objectives.iter().filter(|o| o.namespace == ns).collect();
        assert_eq!(ours.len(), 2, "{backend}: {ours:?}");
        assert!(ours.iter().all(|o| o.name == "dms"), "{backend}: the probe-less objective is not reported");
        let mut lives: Vec<_> = ours.iter().map(|o| (o.objective.measured_since, o.deleted_at)).collect();
        lives.sort();
        assert_eq!(lives, vec![(T0, Some(again)), (again, None)], "{backend}");
        assert_eq!(ours[0].objective.maintenance[0].weekday, Weekday::Saturday, "{backend}");
        assert_eq!(ours[0].objective.support, SupportHours::BusinessHours, "{backend}");
        assert_eq!(
            outages.iter().filter(|o| o.namespace == ns).count(),
            6,
            "{backend}: three outages for each incarnation"
        );
        let live = ledger.live_objectives().await.unwrap();
        assert_eq!(live.iter().filter(|(n, _)| *n == ns).count(), 2, "{backend}: dms and api, each once");
        ledger.delete_objective(&ns, "dms", again + HOUR_MS).await.unwrap();
        let (objectives, _) =
            ledger.report_inputs(None, Interval::new(again + 2 * HOUR_MS, again + 3 * HOUR_MS)).await.unwrap();
        assert!(objectives.iter().all(|o| o.namespace != ns), "{backend}: deleted before the span");

        // The declared days off and working days are replaced as a whole.
        let days = [Date::constant(2026, 6, 22), Date::constant(2026, 11, 19)];
        let (friday, saturday) = (Date::constant(2025, 5, 2), Date::constant(2025, 5, 10));
        ledger.set_calendar(&HolidayCalendar::latvia(days)).await.unwrap();
        let moved = HolidayCalendar::declared([days[1], friday], [saturday]).unwrap();
        ledger.set_calendar(&moved).await.unwrap();
        let read = ledger.calendar().await.unwrap();
        assert_eq!(read, moved, "{backend}");
        assert!(read.is_working_day(saturday) && !read.is_working_day(friday), "{backend}");
    }
}
