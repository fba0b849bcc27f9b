//! `healthblock-kvcc`: the key-value stand-in chaincode as a CCaaS server
//! (configuration: see `healthblock_chaincode::server_main`).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    healthblock_chaincode::server_main::run(healthblock_chaincode::kv::KvContract).await
}
