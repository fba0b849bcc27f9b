//! The headers of a signed envelope (broadcast messages and deliver requests),
//! decoded without trusting anything in them yet.

use fabric_proto::common::{ChannelHeader, Envelope, Payload, SignatureHeader};
use prost::Message;

/// An envelope's payload with its decoded channel and signature headers.
#[derive(Debug)]
pub(crate) struct ParsedEnvelope {
    pub payload: Payload,
    pub channel_header: ChannelHeader,
    pub signature_header: SignatureHeader,
}

/// The channel header of an envelope, or why there is none in the words of
/// Fabric's `protoutil.ChannelHeader` (what the orderer's broadcast reads first).
pub(crate) fn channel_header(env: &Envelope) -> Result<ChannelHeader, String> {
    let payload = Payload::decode(env.payload.as_slice())
        .map_err(|e| format!("error unmarshalling Payload: {e}"))?;
    let header = payload.header.ok_or("header not set")?;
    if header.channel_header.is_empty() {
        return Err("channel header not set".into());
    }
    ChannelHeader::decode(header.channel_header.as_slice()).map_err(|e| {
        format!("error unmarshalling channel header: error unmarshalling ChannelHeader: {e}")
    })
}

/// Decodes payload, channel header and signature header; the messages say what is wrong.
pub(crate) fn parse(env: &Envelope) -> Result<ParsedEnvelope, String> {
    let payload =
        Payload::decode(env.payload.as_slice()).map_err(|e| format!("bad payload: {e}"))?;
    let header = payload.header.as_ref().ok_or("envelope has no header")?;
    let channel_header = ChannelHeader::decode(header.channel_header.as_slice())
        .map_err(|e| format!("bad channel header: {e}"))?;
    let signature_header = SignatureHeader::decode(header.signature_header.as_slice())
        .map_err(|e| format!("bad signature header: {e}"))?;
    Ok(ParsedEnvelope {
        payload,
        channel_header,
        signature_header,
    })
}
