//! The library's one network type, natively: `HttpTransport::get` (the
//! demo's beer API call) against a raw HTTP/1.1 server on a free port of
//! 127.0.0.1 that answers each connection with fixed bytes: the status and
//! body, a body over the cap (by `Content-Length` and chunked without
//! one), and no answer at all (the timeout).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use edge_session::store::{HttpTransport, TransportError};

/// Serves `answer` to every connection (after reading the request's head),
/// or holds the connection without answering when `answer` is `None`.
/// Returns the URL.
fn serve(answer: Option<Vec<u8>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    let url = format!("http://{}/beers", listener.local_addr().expect("its address"));
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for mut sock in listener.incoming().map_while(Result::ok) {
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && sock.read(&mut byte).is_ok_and(|n| n == 1) {
                head.push(byte[0]);
            }
            match &answer {
                Some(bytes) => {
                    let _ = sock.write_all(bytes);
                }
                None => held.push(sock),
            }
        }
    });
    url
}

fn reply(status: &str, headers: &str, body: &[u8]) -> Vec<u8> {
    let mut bytes = format!("HTTP/1.1 {status}\r\nConnection: close\r\n{headers}\r\n").into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

#[tokio::test]
async fn get_reads_the_status_and_a_body_within_the_cap() {
    let t = HttpTransport::new(Duration::from_secs(2));
    let body = br#"[{"name":"Punk IPA"}]"#;
    let url = serve(Some(reply("200 OK", &format!("Content-Length: {}\r\n", body.len()), body)));
    let answer = t.get(&url, 1024).await.expect("an answer");
    assert_eq!((answer.status, answer.body.as_slice()), (200, body.as_slice()));
    let url = serve(Some(reply("500 Internal Server Error", "Content-Length: 4\r\n", b"oops")));
    assert_eq!(t.get(&url, 1024).await.expect("an answer").status, 500, "a status is the caller's to judge");
}

#[tokio::test]
async fn get_abandons_a_body_over_the_cap() {
    let t = HttpTransport::new(Duration::from_secs(2));
    let big = vec![b'x'; 5000];
    let url = serve(Some(reply("200 OK", "Content-Length: 5000\r\n", &big)));
    assert!(matches!(t.get(&url, 1024).await, Err(TransportError::TooLarge { limit: 1024 })));
    // Chunked, no Content-Length: stopped as it streams.
    let mut chunked = Vec::new();
    for _ in 0..5 {
        chunked.extend_from_slice(b"3e8\r\n");
        chunked.extend_from_slice(&[b'x'; 1000]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let url = serve(Some(reply("200 OK", "Transfer-Encoding: chunked\r\n", &chunked)));
    assert!(matches!(t.get(&url, 1024).await, Err(TransportError::TooLarge { limit: 1024 })));
}

#[tokio::test]
async fn get_gives_up_after_the_timeout() {
    let t = HttpTransport::new(Duration::from_millis(300));
    let url = serve(None);
    let started = Instant::now();
    assert!(matches!(t.get(&url, 1024).await, Err(TransportError::Timeout(d)) if d == Duration::from_millis(300)));
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
}
