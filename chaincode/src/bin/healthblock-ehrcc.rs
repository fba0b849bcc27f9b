//! `healthblock-ehrcc`: the EHR contract as a CCaaS server
//! (configuration: see `healthblock_chaincode::server_main`).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    healthblock_chaincode::server_main::run(healthblock_chaincode::ehr::EhrContract::default())
        .await
}
