//! Standard Webhooks signing against the reference libraries' test vectors and
//! against an independent implementation (the `standardwebhooks` crate).

use flockrelay::signing::standard_webhooks::{signature_header, verify, SigningKey};
use flockrelay::signing::SignatureError;

use crate::support::standard_webhooks_vectors;

#[test]
fn our_signatures_match_the_reference_vectors() {
    for vector in standard_webhooks_vectors() {
        let key = SigningKey::from_secret(&vector.secret).expect("valid secret");
        let signature =
            signature_header(std::slice::from_ref(&key), &vector.msg_id, vector.timestamp, vector.payload.as_bytes());
        assert_eq!(signature, vector.expected_signature, "{}", vector.name);
        assert_eq!(
            verify(
                &[key],
                &vector.msg_id,
                &vector.timestamp.to_string(),
                &vector.expected_signature,
                vector.payload.as_bytes(),
                vector.timestamp,
                300
            ),
            Ok(()),
            "{}",
            vector.name
        );
    }
}

#[test]
fn the_reference_crate_and_ours_agree_both_ways() {
    let now = chrono::Utc::now().timestamp();
    for vector in standard_webhooks_vectors() {
        let reference = standardwebhooks::Webhook::new(&vector.secret).expect("valid secret");
        let ours = SigningKey::from_secret(&vector.secret).expect("valid secret");
        let theirs = reference.sign(&vector.msg_id, now, vector.payload.as_bytes()).expect("signs");
        assert_eq!(ours.sign(&vector.msg_id, now, vector.payload.as_bytes()), theirs, "{}", vector.name);
        assert_eq!(
            verify(&[ours], &vector.msg_id, &now.to_string(), &theirs, vector.payload.as_bytes(), now, 300),
            Ok(())
        );
    }
}

#[test]
fn verification_refuses_what_it_must() {
    let key = SigningKey::from_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("valid secret");
    let now = 1_700_000_000;
    let good = key.sign("msg_1", now, b"{}");
    let keys = [key];
    let check = |id: &str, ts: &str, sig: &str, body: &[u8]| verify(&keys, id, ts, sig, body, now, 300);
    assert_eq!(check("msg_1", "1700000000", &good, b"{}"), Ok(()));
    assert_eq!(
        check("msg_1", "1700000000", &format!("v1,bm9wZQ== {good}"), b"{}"),
        Ok(()),
        "any listed signature may match"
    );
    assert_eq!(check("msg_1", "1700000000", &good, b"{ }"), Err(SignatureError::Mismatch));
    assert_eq!(check("msg_1", "1699999000", &good, b"{}"), Err(SignatureError::StaleTimestamp), "too old");
    assert_eq!(check("msg_1", "1700001000", &good, b"{}"), Err(SignatureError::StaleTimestamp), "in the future");
    assert_eq!(check("msg_1", "soon", &good, b"{}"), Err(SignatureError::MalformedHeader("webhook-timestamp")));
    assert_eq!(
        check("msg_1", "1700000000", "v2,abc", b"{}"),
        Err(SignatureError::MalformedHeader("webhook-signature"))
    );
}
