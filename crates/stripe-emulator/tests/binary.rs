//! The `stripe-emulator` binary: it prints where it listens and the key it accepts, and answers
//! only that key.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// Kills the child when the test ends, however it ends.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn emulator(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_stripe-emulator"));
    command
        .args(args)
        .env_remove("STRIPE_EMULATOR_SECRET")
        .env_remove("STRIPE_WEBHOOK_SECRET");
    command
}

/// Starts the emulator and reads the first line it prints.
fn start(mut command: Command) -> (Running, String) {
    let mut child = Running(
        command
            .stdout(Stdio::piped())
            .spawn()
            .expect("start stripe-emulator"),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read its first line");
    (child, line)
}

#[tokio::test]
async fn it_prints_its_address_and_key_and_answers_only_that_key() {
    let (_child, line) = start(emulator(&["--port", "0"]));
    let base_url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("the address is printed: {line}"))
        .to_owned();
    let secret = line
        .split_whitespace()
        .find(|w| w.starts_with("sk_test_emu_"))
        .unwrap_or_else(|| panic!("the secret key is printed: {line}"))
        .to_owned();
    let http = reqwest::Client::new();
    let other_key = http
        .post(format!("{base_url}/v1/customers"))
        .bearer_auth("sk_test_anything")
        .form(&[("email", "a@example.com")])
        .send()
        .await
        .expect("request");
    assert_eq!(other_key.status(), reqwest::StatusCode::UNAUTHORIZED);
    let customer: serde_json::Value = http
        .post(format!("{base_url}/v1/customers"))
        .bearer_auth(&secret)
        .form(&[("email", "a@example.com")])
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON");
    assert!(customer["id"]
        .as_str()
        .unwrap_or_default()
        .starts_with("cus_"));
    assert_eq!(customer["email"], "a@example.com");
}

#[test]
fn a_configured_secret_is_the_one_it_accepts_and_a_weak_one_is_refused() {
    let mut configured = emulator(&["--port", "0"]);
    configured.env("STRIPE_EMULATOR_SECRET", "sk_test_emu_0123456789abcdef");
    let (_child, line) = start(configured);
    assert!(line.contains("sk_test_emu_0123456789abcdef"), "{line}");

    let refused = emulator(&["--port", "0", "--secret", "sk_test_short"])
        .output()
        .expect("run stripe-emulator");
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("--secret"), "{stderr}");

    let no_secret = emulator(&[
        "--port",
        "0",
        "--webhook-url",
        "http://127.0.0.1:1/webhooks",
    ])
    .output()
    .expect("run stripe-emulator");
    assert!(!no_secret.status.success());
    let stderr = String::from_utf8_lossy(&no_secret.stderr);
    assert!(stderr.contains("--webhook-secret"), "{stderr}");
}
