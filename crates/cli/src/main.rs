//! The `kahu` command line.
fn main() {
    println!("kahu");
}
