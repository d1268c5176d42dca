//! The example of the README's "A test kit for Rust users", run.

use corridor_proto::v1::ConsignmentState;
use corridor_testkit::Sandbox;

#[tokio::test(flavor = "multi_thread")]
async fn a_consignment_clears_the_corridor() {
    let mut sb = Sandbox::start().await; // the built-in Middle Corridor; start_with(FILE) for another
    sb.register_parties().await; // the topology's operators, AEO certificates, arrangements
    sb.sync().await; // every service has the registry
    let c = sb.consignment(0, |_| {}); // the sample declaration, signed by its parties
    sb.submit(&c).await.expect("accepted at the first node");
    let lanes = sb.clear(&c).await; // arrival, officers' decisions and exit at every border
    assert_eq!(lanes.len(), 4);
    assert_eq!(
        sb.view("TR", &c.id).await.state(),
        ConsignmentState::Completed
    );
    sb.stop().await;
}

/// The README's example is this file's test, word for word.
#[test]
fn the_readme_shows_this_test() {
    let readme = include_str!("../../../README.md");
    let this = include_str!("example.rs");
    let (_, rest) = this.split_once("\n\n").unwrap_or_default();
    let test = rest
        .split("\n\n/// The README's")
        .next()
        .unwrap_or_default();
    assert!(
        readme.contains(test),
        "README.md: the test kit's example differs from tests/example.rs"
    );
}
