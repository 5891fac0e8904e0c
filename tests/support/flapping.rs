//! A local HTTP target that is switched up and down on a schedule, for comparing
//! availability measurements against a known ground truth. It counts the requests it
//! answered 200 and 503 and serves them at `/metrics` (`flapping_requests_total{code}`),
//! a good/total pair for a Prometheus ratio indicator.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    task::{JoinHandle, JoinSet},
};

/// The longest request head the target reads before answering anyway.
const MAX_REQUEST_HEAD: usize = 16 * 1024;

/// How long a connection may take to send its request head.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// An HTTP/1.1 server on 127.0.0.1 that answers every request `200 OK` (body `ok`) while
/// up and `503 Service Unavailable` while down. Connections are accepted either way, so a
/// prober sees a clean HTTP failure, never a refused connection. It starts up, records
/// every switch with its wall-clock time, and stops serving when dropped.
pub struct FlappingTarget {
    address: SocketAddr,
    state: Arc<State>,
    server: JoinHandle<()>,
}

/// What the server and the switches share.
struct State {
    up: AtomicBool,
    /// Requests answered 200 and 503 (not counting `/metrics`), for Prometheus to scrape.
    answered: [AtomicU64; 2],
    /// `(Unix milliseconds, up)` of the start and of every change since; appended under
    /// the lock together with the flip of `up`, so the two never disagree.
    transitions: Mutex<Vec<(i64, bool)>>,
}

impl FlappingTarget {
    /// Binds 127.0.0.1 on a free port and starts serving, up.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the flapping target on 127.0.0.1");
        let address = listener.local_addr().expect("the flapping target's address");
        let state = Arc::new(State {
            up: AtomicBool::new(true),
            answered: [AtomicU64::new(0), AtomicU64::new(0)],
            transitions: Mutex::new(vec![(unix_ms(), true)]),
        });
        let server = tokio::spawn(serve(listener, Arc::clone(&state)));
        Self { address, state, server }
    }

    /// The URL to probe, `http://127.0.0.1:PORT/health`.
    pub fn url(&self) -> String {
        format!("http://{}/health", self.address)
    }

    /// Its `host:port`, where Prometheus scrapes `/metrics`.
    pub fn authority(&self) -> String {
        self.address.to_string()
    }

    /// Switches the target up or down and returns when (Unix milliseconds); a change is
    /// recorded in [`Self::transitions`].
    pub fn set_up(&self, up: bool) -> i64 {
        let mut transitions = self.state.transitions.lock().expect("transitions lock");
        let at = unix_ms();
        if self.state.up.swap(up, Ordering::SeqCst) != up {
            transitions.push((at, up));
        }
        at
    }

    /// Walks `schedule`, holding each state for its duration (measured from the schedule's
    /// start, so the steps do not drift), and returns the span it covered as Unix
    /// milliseconds `(from, to)`: `from` is when the first state was applied, `to` when
    /// the last one's duration ended. The target stays in the last state afterwards.
    pub async fn run_schedule(&self, schedule: &[(bool, Duration)]) -> (i64, i64) {
        let start = tokio::time::Instant::now();
        let mut step_end = start;
        let mut from = None;
        for &(up, duration) in schedule {
            let applied = self.set_up(up);
            from.get_or_insert(applied);
            step_end += duration;
            tokio::time::sleep_until(step_end).await;
        }
        (from.unwrap_or_else(unix_ms), unix_ms())
    }

    /// The start (up) and every switch since, as `(Unix milliseconds, up)`, oldest first.
    pub fn transitions(&self) -> Vec<(i64, bool)> {
        self.state.transitions.lock().expect("transitions lock").clone()
    }

    /// The ground truth: the fraction of `[from_ms, to_ms]` during which the target was
    /// up, computed from the recorded transitions.
    pub fn uptime_ratio(&self, from_ms: i64, to_ms: i64) -> f64 {
        assert!(from_ms < to_ms, "an empty span [{from_ms}, {to_ms}]");
        let transitions = self.transitions();
        let mut up_ms = 0;
        for (index, &(at, up)) in transitions.iter().enumerate() {
            let until = transitions.get(index + 1).map_or(to_ms, |&(next, _)| next);
            if up {
                up_ms += (until.min(to_ms) - at.max(from_ms)).max(0);
            }
        }
        up_ms as f64 / (to_ms - from_ms) as f64
    }
}

impl Drop for FlappingTarget {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every open connection.
        self.server.abort();
    }
}

/// Accepts connections until aborted, each answered by a task of its own.
async fn serve(listener: TcpListener, state: Arc<State>) {
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let Ok((stream, _)) = listener.accept().await else { continue };
        connections.spawn(answer(stream, Arc::clone(&state)));
    }
}

/// Reads one request head and answers it according to the state at that moment, then
/// closes the connection.
async fn answer(mut stream: TcpStream, state: Arc<State>) {
    let mut head = Vec::new();
    let mut buffer = [0; 1024];
    let read_head = async {
        while !head.windows(4).any(|window| window == b"\r\n\r\n") && head.len() < MAX_REQUEST_HEAD {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return false,
                Ok(read) => head.extend_from_slice(&buffer[..read]),
            }
        }
        true
    };
    if !matches!(tokio::time::timeout(REQUEST_TIMEOUT, read_head).await, Ok(true)) {
        return;
    }
    let metrics;
    let (status, body) = if head.starts_with(b"GET /metrics ") {
        let [ok, down] = &state.answered;
        metrics = format!(
            "# TYPE flapping_requests_total counter\nflapping_requests_total{{code=\"200\"}} {}\nflapping_requests_total{{code=\"503\"}} {}\n",
            ok.load(Ordering::SeqCst),
            down.load(Ordering::SeqCst)
        );
        ("200 OK", metrics.as_str())
    } else if state.up.load(Ordering::SeqCst) {
        state.answered[0].fetch_add(1, Ordering::SeqCst);
        ("200 OK", "ok")
    } else {
        state.answered[1].fetch_add(1, Ordering::SeqCst);
        ("503 Service Unavailable", "down")
    };
    let mut response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    if !head.starts_with(b"HEAD ") {
        response.push_str(body);
    }
    // A prober that gave up has nobody left to answer.
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Now, in milliseconds since the Unix epoch.
fn unix_ms() -> i64 {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).expect("the clock is after 1970");
    i64::try_from(since_epoch.as_millis()).expect("milliseconds fit in i64")
}
