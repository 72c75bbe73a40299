//! Many requests at once into one wallet: every one answered, none a 500, the money exact.
//! On PostgreSQL this once stalled for the pool's whole timeout and answered 500: transactions
//! queued on the hot wallet's row held every connection while the one holding the lock waited
//! for another connection to read through.

use crate::both_engines;
use crate::helpers::{spawn_app, Engine};
use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::json;

both_engines!(sixty_four_simultaneous_inflows_into_one_wallet_are_all_credited);

async fn sixty_four_simultaneous_inflows_into_one_wallet_are_all_credited(engine: Engine) {
    let Some(app) = spawn_app(engine).await else {
        return;
    };
    let business = app.create_business().await;
    let auth = business.duplo();
    let answers = join_all((0..64).map(|_| {
        app.post(
            "/sandbox/v1/bank/transfers",
            &auth,
            json!({ "account_number": business.ngn_account, "amount": "100" }),
        )
    }))
    .await;
    for answer in &answers {
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    }
    assert_eq!(
        app.balance(&business, &business.ngn_wallet).await,
        (json!(6400), json!(6400))
    );
    app.finish().await;
}
