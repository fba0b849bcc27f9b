//! Compiles `proto/*.proto` with protox (pure Rust, no `protoc`) and
//! generates prost messages plus tonic clients and servers.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "common.proto",
        "msp.proto",
        "ledger.proto",
        "kvrwset.proto",
        "queryresult.proto",
        "peer.proto",
        "orderer.proto",
        "gateway.proto",
        "lifecycle.proto",
    ];
    for f in &files {
        println!("cargo:rerun-if-changed=proto/{f}");
    }
    let fds = protox::compile(files, ["proto"])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // The shim service has an rpc named `Connect`, which would clash with the
        // generated `connect` constructor; clients are built with `new(channel)`.
        .build_transport(false)
        .compile_fds(fds)?;
    Ok(())
}
