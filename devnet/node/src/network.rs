//! Everything the services of all nodes share: the channel, its identities,
//! the orderer and the peers.

use crate::auth::IdentityCache;
use crate::orderer::Orderer;
use crate::peer::Peer;
use std::sync::Arc;
use tokio::sync::watch;

/// The running channel.
pub(crate) struct Network {
    pub channel: String,
    pub ids: Arc<IdentityCache>,
    pub orderer: Arc<Orderer>,
    /// In configuration order.
    pub peers: Vec<Arc<Peer>>,
    pub shutdown: watch::Receiver<bool>,
}

impl Network {
    /// The peers of an org, in configuration order. A stopped peer stays in
    /// the gateways' plans (as in Fabric until discovery forgets it) and fails
    /// when dialled, so the gateway moves on to the org's next peer.
    pub(crate) fn peers_of<'a>(
        &'a self,
        mspid: &'a str,
    ) -> impl Iterator<Item = &'a Arc<Peer>> + 'a {
        self.peers.iter().filter(move |p| p.mspid == mspid)
    }

    /// The orgs that have peers, in configuration order, without repeats.
    pub(crate) fn peer_orgs(&self) -> Vec<String> {
        let mut orgs: Vec<String> = Vec::new();
        for p in &self.peers {
            if !orgs.contains(&p.mspid) {
                orgs.push(p.mspid.clone());
            }
        }
        orgs
    }

    /// Resolves when the devnet is stopping.
    pub(crate) async fn stopping(&self) {
        let mut rx = self.shutdown.clone();
        crate::chain::stopped(&mut rx).await;
    }
}
