//! `store put|get|rm`: moves blob files and their wraps between the local
//! disk and an object store, streaming.

use std::path::Path;

use anyhow::{Context, Result};
use healthblock_store::{BlobHash, ObjectStore, StoreSpec, WrapName};
use tokio::io::AsyncWriteExt;

use crate::crypt::wraps_dir;
use crate::progress::bar;
use crate::{StoreArgs, StoreCommand};

async fn open_store(args: &StoreArgs) -> Result<std::sync::Arc<dyn ObjectStore>> {
    let spec = StoreSpec::parse(&args.store)?;
    let context = match &spec {
        StoreSpec::S3 if args.s3_env_file.is_none() => {
            "for --store s3, set HEALTHBLOCK_S3_* or pass --s3-env-file".to_owned()
        }
        StoreSpec::S3 => "cannot open the S3 store".to_owned(),
        StoreSpec::Dir(dir) => format!("cannot open store directory {}", dir.display()),
    };
    spec.open(args.s3_env_file.as_deref())
        .await
        .context(context)
}

pub async fn run(cmd: StoreCommand) -> Result<()> {
    match cmd {
        StoreCommand::Put { store, blob } => put(open_store(&store).await?.as_ref(), &blob).await,
        StoreCommand::Get { store, hash, out } => {
            get(open_store(&store).await?.as_ref(), &hash.parse()?, &out).await
        }
        StoreCommand::Rm { store, hash, wrap } => {
            let store = open_store(&store).await?;
            let hash: BlobHash = hash.parse()?;
            match wrap {
                Some(fp) => {
                    store.delete_wrap(&hash, &fp.parse()?).await?;
                    println!("deleted wrap {fp} of blob {hash}");
                }
                None => {
                    store.delete_blob(&hash).await?;
                    println!("deleted blob {hash} and all its wraps");
                }
            }
            Ok(())
        }
    }
}

async fn put(store: &dyn ObjectStore, blob: &Path) -> Result<()> {
    let file = tokio::fs::File::open(blob)
        .await
        .with_context(|| format!("cannot open {}", blob.display()))?;
    let len = file.metadata().await.map(|m| m.len()).unwrap_or(0);
    let progress = bar("upload", len);
    let mut reader = progress.wrap_async_read(tokio::io::BufReader::new(file));
    let info = store.put_blob(&mut reader).await?;
    progress.finish_and_clear();
    let mut wraps = 0;
    let dir = wraps_dir(blob);
    if dir.is_dir() {
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))?
        {
            let entry = entry?;
            let Some(name) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<WrapName>().ok())
            else {
                continue;
            };
            let bytes = std::fs::read(entry.path())
                .with_context(|| format!("cannot read {}", entry.path().display()))?;
            store.put_wrap(&info.hash, &name, &bytes).await?;
            wraps += 1;
        }
    }
    println!("{}", info.hash);
    eprintln!("stored {} bytes and {wraps} wrap(s)", info.size);
    Ok(())
}

async fn get(store: &dyn ObjectStore, hash: &BlobHash, out: &Path) -> Result<()> {
    let mut reader = store.get_blob(hash).await?;
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let temp = tempfile::Builder::new()
        .prefix(".wbcb-partial-")
        .tempfile_in(&dir)?;
    let mut file = tokio::fs::File::from_std(temp.reopen()?);
    tokio::io::copy(&mut reader, &mut file)
        .await
        .with_context(|| format!("downloading blob {hash}"))?;
    file.flush().await?;
    file.sync_all().await?;
    drop(file);
    temp.persist(out)
        .with_context(|| format!("cannot write {}", out.display()))?;
    let wraps = store.list_wraps(hash).await?;
    let wdir = wraps_dir(out);
    std::fs::create_dir_all(&wdir).with_context(|| format!("cannot create {}", wdir.display()))?;
    for name in &wraps {
        let bytes = store.get_wrap(hash, name).await?;
        std::fs::write(wdir.join(name.as_str()), bytes)?;
    }
    eprintln!(
        "{} and {} wrap(s) in {}",
        out.display(),
        wraps.len(),
        wdir.display()
    );
    Ok(())
}
