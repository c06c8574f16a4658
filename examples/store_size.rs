//! Where the bytes of a durable history store go (issue 14, stage B): per
//! table, its entries and the bytes redb reports as stored (keys and
//! values), as its own metadata, and as fragmented (free space inside its
//! pages); then the file's size, the pages allocated, and each per recorded
//! send. Commits nothing: the whole-file figures come from a write
//! transaction that is aborted (close every process that has the store open
//! first).
//!
//! ```text
//! cargo run --release --example store_size -- HISTORY.redb
//! ```

use std::error::Error;

use nextbest::history::DurableHistory;
use redb::{Database, ReadableTableMetadata, TableHandle};

fn main() -> Result<(), Box<dyn Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: store_size HISTORY.redb")?;
    // Counted by nextbest itself, and refused if the file is no store.
    let sends = DurableHistory::open_unchanged(&path)?
        .ok_or("no history store there")?
        .verify()?
        .sends;
    let per_send = |bytes: u64| bytes.checked_div(sends).unwrap_or(0);
    let file = std::fs::metadata(&path)?.len();
    let db = Database::open(&path)?;
    let read = db.begin_read()?;
    println!(
        "{:16} {:>9} {:>10} {:>9} {:>10} {:>6}",
        "table", "entries", "stored", "metadata", "fragmented", "pages"
    );
    for handle in read.list_tables()? {
        let name = handle.name().to_owned();
        let table = read.open_untyped_table(handle)?;
        let stats = table.stats()?;
        println!(
            "{name:16} {:>9} {:>10} {:>9} {:>10} {:>6}",
            table.len()?,
            stats.stored_bytes(),
            stats.metadata_bytes(),
            stats.fragmented_bytes(),
            stats.leaf_pages() + stats.branch_pages()
        );
    }
    drop(read);
    let write = db.begin_write()?;
    let stats = write.stats()?;
    write.abort()?;
    let allocated = stats.allocated_pages() * stats.page_size() as u64;
    println!("{sends} sends; per send, in bytes:");
    println!("  file             {}", per_send(file));
    println!("  pages allocated  {}", per_send(allocated));
    println!("  stored           {}", per_send(stats.stored_bytes()));
    println!("  metadata         {}", per_send(stats.metadata_bytes()));
    println!("  fragmented       {}", per_send(stats.fragmented_bytes()));
    Ok(())
}
