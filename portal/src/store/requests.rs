//! Requests and their timelines. Creating a request takes its agency's counter row first,
//! so the quota check and the insert of concurrent requests (even from several portal
//! replicas) happen one after another per agency. Requests are written only inside a
//! [`Tx`], which commits with the action's audit record.

use makonis_api::catalog::Approval;
use serde::Serialize;
use serde_json::Value;
use sqlx::{AnyConnection, Row, any::AnyRow};

use super::{Store, StoreError, Tx, corrupt};
use crate::workflow::{RequestKind, RequestState, Reservation};

/// A request as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Request {
    /// `<agency>-<number>`, e.g. `vdi-17`.
    pub id: String,
    /// The agency's code.
    pub agency: String,
    /// The request's number within its agency.
    pub number: i64,
    /// Order, resize or retire.
    pub kind: RequestKind,
    /// The catalog item.
    pub catalog_item: String,
    /// The plan ordered (for a retirement: the plan the instance had).
    pub plan: String,
    /// The order's parameters (defaults applied).
    pub parameters: Value,
    /// The ServiceInstance's name in the agency's namespace.
    pub instance: String,
    /// Who asked (username).
    pub requester: String,
    /// Who asked (display name).
    pub requester_name: String,
    /// The approval chain the item's policy set when the request was made.
    pub approval: Approval,
    /// Where it stands.
    pub state: RequestState,
    /// What it reserves while pending.
    pub reservation: Reservation,
    /// Monthly price of the plan in euro, as in the catalog (`"120.00"`).
    pub monthly_price: String,
    /// The latest word on it (a failure's reason, the instance's status message).
    pub message: String,
    /// Created (Unix ms).
    pub created_at: i64,
    /// Last changed (Unix ms).
    pub updated_at: i64,
}

/// What is needed to create a request (the agency is named to the store separately; the
/// number and id are given by the store).
#[derive(Debug, Clone)]
pub struct NewRequest {
    /// Order, resize or retire.
    pub kind: RequestKind,
    /// The catalog item.
    pub catalog_item: String,
    /// The plan.
    pub plan: String,
    /// Parameters, defaults applied.
    pub parameters: Value,
    /// The instance's name.
    pub instance: String,
    /// Who asks (username).
    pub requester: String,
    /// Who asks (display name).
    pub requester_name: String,
    /// The item's approval policy.
    pub approval: Approval,
    /// The state it starts in.
    pub state: RequestState,
    /// What it reserves while pending.
    pub reservation: Reservation,
    /// Monthly price in euro.
    pub monthly_price: String,
}

/// One entry of a request's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestEvent {
    /// Position in the timeline, from 1.
    pub seq: i64,
    /// When (Unix ms).
    pub at: i64,
    /// Who (username, or `makonis` for the platform itself).
    pub actor: String,
    /// Who (display name).
    pub actor_name: String,
    /// What happened: `submitted`, `approved`, `rejected`, `applied`, the new state…
    pub event: String,
    /// The approver's comment or the platform's message.
    pub comment: String,
}

/// A timeline entry to add.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    /// Who (username).
    pub actor: &'a str,
    /// Who (display name).
    pub actor_name: &'a str,
    /// What happened.
    pub event: &'a str,
    /// Comment or message.
    pub comment: &'a str,
}

/// A request that reserves quota, as the quota check sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingReservation {
    /// The agency's code.
    pub agency: String,
    /// Order or resize.
    pub kind: RequestKind,
    /// The instance it is for.
    pub instance: String,
    /// What it reserves.
    pub reservation: Reservation,
}

/// Which requests to list.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    /// Only these agencies; `None` means all (platform staff).
    pub agencies: Option<Vec<String>>,
    /// Only these states.
    pub states: Option<Vec<RequestState>>,
    /// Only this requester's.
    pub requester: Option<String>,
    /// Only requests about this instance.
    pub instance: Option<String>,
    /// At most this many, newest first.
    pub limit: i64,
}

const COLUMNS: &str = "id, agency, number, kind, catalog_item, plan, parameters_json, instance, requester, \
     requester_name, approval, state, cpu_milli, memory_milli, storage_milli, monthly_price, message, created_at, updated_at";

fn approval_name(approval: Approval) -> &'static str {
    match approval {
        Approval::None => "None",
        Approval::AgencyApprover => "AgencyApprover",
        Approval::AgencyApproverThenPlatform => "AgencyApproverThenPlatform",
    }
}

fn read_request(row: &AnyRow) -> Result<Request, StoreError> {
    let parameters: String = row.try_get("parameters_json")?;
    let approval: String = row.try_get("approval")?;
    let kind: String = row.try_get("kind")?;
    let state: String = row.try_get("state")?;
    Ok(Request {
        id: row.try_get("id")?,
        agency: row.try_get("agency")?,
        number: row.try_get("number")?,
        kind: kind.parse().map_err(|e| corrupt("request kind", e))?,
        catalog_item: row.try_get("catalog_item")?,
        plan: row.try_get("plan")?,
        parameters: serde_json::from_str(&parameters).map_err(|e| corrupt("request parameters", e))?,
        instance: row.try_get("instance")?,
        requester: row.try_get("requester")?,
        requester_name: row.try_get("requester_name")?,
        approval: serde_json::from_value(Value::String(approval)).map_err(|e| corrupt("request approval", e))?,
        state: state.parse().map_err(|e| corrupt("request state", e))?,
        reservation: Reservation {
            cpu: row.try_get("cpu_milli")?,
            memory: row.try_get("memory_milli")?,
            storage: row.try_get("storage_milli")?,
        },
        monthly_price: row.try_get("monthly_price")?,
        message: row.try_get("message")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn state_list(states: &[RequestState]) -> String {
    states.iter().map(|s| format!("'{}'", s.as_str())).collect::<Vec<_>>().join(", ")
}

async fn add_event(
    conn: &mut AnyConnection,
    request_id: &str,
    at: i64,
    event: &NewEvent<'_>,
) -> Result<(), StoreError> {
    let seq: i64 = sqlx::query("SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM request_events WHERE request_id = $1")
        .bind(request_id)
        .fetch_one(&mut *conn)
        .await?
        .try_get("next")?;
    sqlx::query(
        "INSERT INTO request_events (request_id, seq, at, actor, actor_name, event, comment) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(request_id)
    .bind(seq)
    .bind(at)
    .bind(event.actor)
    .bind(event.actor_name)
    .bind(event.event)
    .bind(event.comment)
    .execute(conn)
    .await?;
    Ok(())
}

/// What the requests of `agencies` (all when `None`) reserve, read on `conn` (inside a
/// transaction when creating a request).
async fn reservations_in(
    conn: &mut sqlx::AnyConnection,
    agencies: Option<&[String]>,
) -> Result<Vec<PendingReservation>, StoreError> {
    let mut sql = format!(
        "SELECT agency, kind, instance, cpu_milli, memory_milli, storage_milli FROM requests WHERE state IN ({})",
        state_list(&RequestState::RESERVING)
    );
    if let Some(agencies) = agencies {
        if agencies.is_empty() {
            return Ok(Vec::new());
        }
        let marks: Vec<_> = (1..=agencies.len()).map(|n| format!("${n}")).collect();
        sql.push_str(&format!(" AND agency IN ({})", marks.join(", ")));
    }
    let mut query = sqlx::query(&sql);
    for agency in agencies.into_iter().flatten() {
        query = query.bind(agency);
    }
    let rows = query.fetch_all(conn).await?;
    rows.iter()
        .map(|row| {
            let kind: String = row.try_get("kind")?;
            Ok(PendingReservation {
                agency: row.try_get("agency")?,
                kind: kind.parse().map_err(|e| corrupt("request kind", e))?,
                instance: row.try_get("instance")?,
                reservation: Reservation {
                    cpu: row.try_get("cpu_milli")?,
                    memory: row.try_get("memory_milli")?,
                    storage: row.try_get("storage_milli")?,
                },
            })
        })
        .collect()
}

impl Store {
    /// What the requests of `agencies` (every agency when `None`) reserve now.
    pub async fn reservations(&self, agencies: Option<&[String]>) -> Result<Vec<PendingReservation>, StoreError> {
        let mut conn = self.pool().acquire().await?;
        reservations_in(&mut conn, agencies).await
    }

    /// The request `id`.
    pub async fn request(&self, id: &str) -> Result<Option<Request>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM requests WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(read_request).transpose()
    }

    /// The timeline of request `id`, oldest first.
    pub async fn request_events(&self, id: &str) -> Result<Vec<RequestEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, at, actor, actor_name, event, comment FROM request_events WHERE request_id = $1 ORDER BY seq",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(RequestEvent {
                    seq: row.try_get("seq")?,
                    at: row.try_get("at")?,
                    actor: row.try_get("actor")?,
                    actor_name: row.try_get("actor_name")?,
                    event: row.try_get("event")?,
                    comment: row.try_get("comment")?,
                })
            })
            .collect()
    }

    /// Requests matching `filter`, newest first.
    pub async fn requests(&self, filter: &RequestFilter) -> Result<Vec<Request>, StoreError> {
        let mut sql = format!("SELECT {COLUMNS} FROM requests WHERE 1 = 1");
        let mut binds: Vec<String> = Vec::new();
        if let Some(agencies) = &filter.agencies {
            if agencies.is_empty() {
                return Ok(Vec::new());
            }
            let start = binds.len();
            binds.extend(agencies.iter().cloned());
            let marks: Vec<_> = (start + 1..=binds.len()).map(|n| format!("${n}")).collect();
            sql.push_str(&format!(" AND agency IN ({})", marks.join(", ")));
        }
        if let Some(states) = &filter.states {
            if states.is_empty() {
                return Ok(Vec::new());
            }
            sql.push_str(&format!(" AND state IN ({})", state_list(states)));
        }
        if let Some(requester) = &filter.requester {
            binds.push(requester.clone());
            sql.push_str(&format!(" AND requester = ${}", binds.len()));
        }
        if let Some(instance) = &filter.instance {
            binds.push(instance.clone());
            sql.push_str(&format!(" AND instance = ${}", binds.len()));
        }
        sql.push_str(&format!(" ORDER BY created_at DESC, number DESC LIMIT {}", filter.limit.clamp(1, 10_000)));
        let mut query = sqlx::query(&sql);
        for value in &binds {
            query = query.bind(value);
        }
        query.fetch_all(self.pool()).await?.iter().map(read_request).collect()
    }
}

impl Tx {
    /// Creates the request `build` makes, unless it refuses. `build` sees what agency
    /// `agency`'s requests reserve, read while the agency's counter row is held (until
    /// the transaction ends), so no other request of the agency can be created between
    /// its check and the insert. After a refusal, roll the transaction back.
    pub async fn create_request<E>(
        &mut self,
        agency: &str,
        at: i64,
        build: impl FnOnce(&[PendingReservation]) -> Result<NewRequest, E>,
    ) -> Result<Result<Request, E>, StoreError> {
        let tx = self.conn();
        sqlx::query("INSERT INTO agency_counters (agency, last_number) VALUES ($1, 0) ON CONFLICT (agency) DO NOTHING")
            .bind(agency)
            .execute(&mut *tx)
            .await?;
        let number: i64 = sqlx::query(
            "UPDATE agency_counters SET last_number = last_number + 1 WHERE agency = $1 RETURNING last_number",
        )
        .bind(agency)
        .fetch_one(&mut *tx)
        .await?
        .try_get("last_number")?;
        let pending = reservations_in(tx, Some(&[agency.to_string()])).await?;
        let new = match build(&pending) {
            Ok(new) => new,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let id = format!("{agency}-{number}");
        let parameters = serde_json::to_string(&new.parameters).map_err(|e| corrupt("request parameters", e))?;
        sqlx::query(&format!(
            "INSERT INTO requests ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)"
        ))
        .bind(&id)
        .bind(agency)
        .bind(number)
        .bind(new.kind.as_str())
        .bind(&new.catalog_item)
        .bind(&new.plan)
        .bind(parameters)
        .bind(&new.instance)
        .bind(&new.requester)
        .bind(&new.requester_name)
        .bind(approval_name(new.approval))
        .bind(new.state.as_str())
        .bind(new.reservation.cpu)
        .bind(new.reservation.memory)
        .bind(new.reservation.storage)
        .bind(&new.monthly_price)
        .bind("")
        .bind(at)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        let submitted =
            NewEvent { actor: &new.requester, actor_name: &new.requester_name, event: "submitted", comment: "" };
        add_event(tx, &id, at, &submitted).await?;
        Ok(Ok(Request {
            id,
            agency: agency.to_string(),
            number,
            kind: new.kind,
            catalog_item: new.catalog_item,
            plan: new.plan,
            parameters: new.parameters,
            instance: new.instance,
            requester: new.requester,
            requester_name: new.requester_name,
            approval: new.approval,
            state: new.state,
            reservation: new.reservation,
            monthly_price: new.monthly_price,
            message: String::new(),
            created_at: at,
            updated_at: at,
        }))
    }

    /// Moves request `id` to `to` if it is in one of `from`, recording `event` (and
    /// `message` as its latest word). Returns the updated request, or `None` when it was
    /// not in one of `from` (someone else moved it first; roll back then).
    pub async fn transition(
        &mut self,
        id: &str,
        from: &[RequestState],
        to: RequestState,
        event: &NewEvent<'_>,
        message: &str,
        at: i64,
    ) -> Result<Option<Request>, StoreError> {
        let tx = self.conn();
        let moved = sqlx::query(&format!(
            "UPDATE requests SET state = $1, message = $2, updated_at = $3 WHERE id = $4 AND state IN ({})",
            state_list(from)
        ))
        .bind(to.as_str())
        .bind(message)
        .bind(at)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() == 0 {
            return Ok(None);
        }
        add_event(tx, id, at, event).await?;
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM requests WHERE id = $1")).bind(id).fetch_one(tx).await?;
        read_request(&row).map(Some)
    }
}
