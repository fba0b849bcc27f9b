//! `cscc`: GetChannels (peer-local: members of the peer's own MSP), and
//! GetConfigBlock / GetChannelConfig of a joined channel behind their
//! `cscc/<function>` ACLs. Joining is done at start on the devnet; JoinChain is
//! refused with the reason.

use super::{config_of, incorrect_arguments, not_found, SysccCall};
use fabric_proto::protos::{ChannelInfo, ChannelQueryResponse};
use prost::Message;

pub(super) fn invoke(call: &SysccCall<'_>, args: &[Vec<u8>]) -> Result<Vec<u8>, String> {
    let Some(first) = args.first() else {
        return Err(incorrect_arguments(args));
    };
    let function = String::from_utf8_lossy(first).into_owned();
    if function != "GetChannels" && function != "JoinBySnapshotStatus" && args.len() < 2 {
        return Err(incorrect_arguments(args));
    }
    match function.as_str() {
        "GetChannels" => {
            // Fabric's peer-local policy for this resource: a member of the peer's own MSP.
            if call.creator.mspid != call.ctx.mspid {
                return Err(format!(
                    "access denied for [{function}]: the creator's MSP {} is not this peer's MSP {}",
                    call.creator.mspid, call.ctx.mspid
                ));
            }
            Ok(ChannelQueryResponse {
                channels: vec![ChannelInfo {
                    channel_id: call.ctx.channel.clone(),
                }],
            }
            .encode_to_vec())
        }
        "GetConfigBlock" | "GetChannelConfig" => {
            let channel = String::from_utf8_lossy(&args[1]).into_owned();
            if channel.is_empty() && function == "GetChannelConfig" {
                return Err("empty channel name provided".into());
            }
            if !call.joined(&channel) {
                // Fabric's two functions word this differently.
                let unknown = if function == "GetConfigBlock" { "Unknown" } else { "unknown" };
                return Err(format!("{unknown} channel ID, {channel}"));
            }
            call.check_acl(&format!("cscc/{function}"))
                .map_err(|e| format!("access denied for [{function}][{channel}]: {e}"))?;
            let (_, block) = call.config_block()?;
            if function == "GetConfigBlock" {
                Ok(block.encode_to_vec())
            } else {
                Ok(config_of(&block)?.encode_to_vec())
            }
        }
        "JoinChain" | "JoinChainBySnapshot" | "JoinBySnapshotStatus" => Err(format!(
            "{function}: a devnet peer joins its one channel ({}) when the network starts and cannot join others",
            call.ctx.channel
        )),
        _ => Err(not_found(&function)),
    }
}
