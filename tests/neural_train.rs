//! Training and files of the learned score models: reproducibility (seeds, thread counts,
//! save → load), every bad-input row of the training API, and the reverse-time samplers on a
//! DDPM model. Deterministic (fixed seeds); each test names the bug it catches.
#![cfg(feature = "neural")]

use langevin::Error;
use langevin::annealed::{
    AnnealedLangevin, BetaSchedule, LevelStep, ParticleRun, Predictor, ReverseSampler, SigmaLevels,
    TimeConditionalScore, Vp,
};
use langevin::neural::{DdpmMlp, Embedding, NcsnMlp, TrainConfig};
use langevin::prelude::*;
use langevin::rng::{ChainRng, stream};
use langevin::targets::GaussianMixture;

fn ring_data(n: usize, seed: u64) -> Vec<f32> {
    let gmm = GaussianMixture::<f32>::ring(4, 2.0, 0.3).unwrap();
    let mut rng = stream(seed, 0);
    let mut x = vec![0.0f32; 2 * n];
    for r in x.chunks_exact_mut(2) {
        gmm.sample_into(&mut rng, r);
    }
    x
}

fn levels() -> SigmaLevels<f32> {
    SigmaLevels::geometric(3.0, 0.05, 8).unwrap()
}

fn cfg() -> TrainConfig {
    TrainConfig::new().epochs(3).batch_size(300).seed(5)
}

fn trained(seed: u64, cfg: &TrainConfig) -> NcsnMlp<f32> {
    let mut m =
        NcsnMlp::<f32>::new(2, &[32, 32], Embedding::Sinusoidal { frequencies: 3 }, seed).unwrap();
    m.train_dsm(&ring_data(1000, 1), &levels(), cfg).unwrap();
    m
}

fn init(_: usize, rng: &mut ChainRng, x: &mut [f32]) {
    for v in x.iter_mut() {
        *v = 3.0 * f32::standard_normal(rng);
    }
}

fn sample(model: &NcsnMlp<f32>) -> Vec<f32> {
    let al =
        AnnealedLangevin::new(model, levels(), 10, LevelStep::Langevin { h_last: 1e-3 }).unwrap();
    al.run(&ParticleRun::new(300).seed(9), &init)
        .unwrap()
        .into_vec()
}

#[test]
fn same_seed_same_weights_and_samples_on_any_thread_count() {
    // Catches: noise drawn inside the parallel chunks (thread-dependent order), gradients
    // reduced in completion order, a shuffle or split not driven by the seed, state leaking
    // between runs (the model's scratch pool), batch 300 = 3 chunks of ≤ 128 rows exercises
    // the reduction.
    let pool = |t: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build()
            .unwrap()
    };
    let a = pool(1).install(|| trained(1, &cfg()));
    let b = pool(2).install(|| trained(1, &cfg()));
    let c = trained(1, &cfg());
    assert_eq!(a.net().params(), b.net().params());
    assert_eq!(a.net().params(), c.net().params());
    let s1 = pool(1).install(|| sample(&a));
    let s2 = pool(2).install(|| sample(&c));
    assert_eq!(s1, s2);
    // A different training seed or model seed changes the weights.
    assert_ne!(trained(2, &cfg()).net().params(), a.net().params());
    assert_ne!(trained(1, &cfg().seed(6)).net().params(), a.net().params());
}

#[test]
fn save_load_gives_bit_identical_outputs() {
    // Catches: a transposed weight on save or load, biases and weights swapped, f32 values
    // widened or rounded on the way, the embedding or the levels not stored.
    let m = trained(3, &cfg());
    let dir = std::env::temp_dir().join(format!("langevin-neural-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ncsn.safetensors");
    m.save(&path).unwrap();
    let l = NcsnMlp::<f32>::load(&path).unwrap();
    assert_eq!(l.net().params(), m.net().params());
    assert_eq!(l.embedding(), m.embedding());
    assert_eq!(l.sigmas(), Some(levels().as_slice()));
    assert_eq!(sample(&l), sample(&m));
    // Loading as f64 widens exactly.
    let l64 = NcsnMlp::<f64>::from_safetensors(&m.to_safetensors().unwrap()).unwrap();
    for (a, &b) in l64.net().params().iter().zip(m.net().params()) {
        assert_eq!(a.to_bits(), (b as f64).to_bits());
    }
    // The tensors have torch's nn.Linear layout.
    let bytes = std::fs::read(&path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(st.tensor("layers.0.weight").unwrap().shape(), &[32, 2 + 7]);
    assert_eq!(st.tensor("layers.2.bias").unwrap().shape(), &[2]);
    std::fs::remove_dir_all(&dir).ok();

    // DDPM: the schedule travels with the weights.
    let mut d = DdpmMlp::<f32>::new(
        2,
        &[16],
        Embedding::Raw,
        BetaSchedule::cosine(0.008, 20.0).unwrap(),
        4,
    )
    .unwrap();
    d.train(&ring_data(300, 2), &TrainConfig::new().epochs(1))
        .unwrap();
    let e = DdpmMlp::<f32>::from_safetensors(&d.to_safetensors().unwrap()).unwrap();
    assert_eq!(e.sde().schedule(), d.sde().schedule());
    let xs = ring_data(50, 3);
    let (mut o1, mut o2) = (vec![0.0; 100], vec![0.0; 100]);
    d.score_t_batch_into(&xs, 0.3, &mut o1, &mut Vec::new());
    e.score_t_batch_into(&xs, 0.3, &mut o2, &mut Vec::new());
    assert_eq!(o1, o2);
    // Loading a DDPM file as NCSN is refused.
    assert!(matches!(
        NcsnMlp::<f32>::from_safetensors(&d.to_safetensors().unwrap()),
        Err(Error::ModelFile { .. })
    ));
}

#[test]
fn batched_and_single_point_scores_agree() {
    // Catches: the batched path scaling by the wrong σ, rows of a block shifted, the block
    // boundary (300 rows = 256 + 44) dropping or repeating rows.
    let m = trained(4, &cfg());
    let xs = ring_data(300, 7);
    let mut batch = vec![0.0f32; 600];
    let mut work = Vec::new();
    langevin::annealed::NoiseScoreBatch::score_sigma_batch_into(
        &m, &xs, 0.4, &mut batch, &mut work,
    );
    let mut one = [0.0f32; 2];
    for (x, b) in xs.chunks_exact(2).zip(batch.chunks_exact(2)) {
        m.score_sigma_into(x, 0.4, &mut one);
        for (u, v) in one.iter().zip(b) {
            assert!((u - v).abs() <= 1e-5 * (1.0 + v.abs()), "{u} vs {v}");
        }
    }
}

#[test]
fn ddpm_model_drives_the_reverse_sampler() {
    // A DDPM ε-model trained briefly on the 4-mode ring, sampled by the predictor–corrector
    // sampler: particles end near the ring (radius 2). Catches a sign error in −ε/σ_t (the
    // particles would be pushed away and blow up) and t not reaching the network.
    let sched = BetaSchedule::linear(0.1, 20.0).unwrap();
    let mut d = DdpmMlp::<f32>::new(
        2,
        &[64, 64],
        Embedding::Sinusoidal { frequencies: 4 },
        sched,
        1,
    )
    .unwrap();
    d.train(
        &ring_data(4000, 5),
        &TrainConfig::new()
            .epochs(30)
            .batch_size(128)
            .learning_rate(2e-3),
    )
    .unwrap();
    let sde = Vp::<f32>::new(2, sched).unwrap();
    let rs = ReverseSampler::new(sde, &d, 200, 1e-3, Predictor::EulerMaruyama).unwrap();
    let p = rs
        .run_from_prior(&ParticleRun::new(500).seed(3))
        .unwrap()
        .into_vec();
    let radii: Vec<f32> = p.chunks_exact(2).map(|x| x[0].hypot(x[1])).collect();
    let near = radii.iter().filter(|r| (**r - 2.0).abs() < 0.9).count();
    println!("DDPM reverse sampler: {near}/500 particles within 0.9 of the ring");
    assert!(near > 400, "{near}/500 near the ring");
}

#[test]
fn bad_inputs_return_typed_errors() {
    // Every bad-input row of the training and file API returns its error (no panic, no
    // silently trained model).
    let mut m = NcsnMlp::<f32>::new(2, &[8], Embedding::Raw, 1).unwrap();
    let lv = levels();
    let c = TrainConfig::new().epochs(1);
    assert!(matches!(
        m.train_dsm(&[], &lv, &c),
        Err(Error::ZeroCount { .. })
    ));
    assert!(matches!(
        m.train_dsm(&[1.0, 2.0, 3.0], &lv, &c),
        Err(Error::DimensionMismatch { .. })
    ));
    let mut nan = ring_data(100, 1);
    nan[17] = f32::NAN;
    assert!(matches!(
        m.train_dsm(&nan, &lv, &c),
        Err(Error::NonFiniteInput { index: 17, .. })
    ));
    let data = ring_data(100, 1);
    for bad in [
        c.clone().epochs(0),
        c.clone().batch_size(0),
        c.clone().learning_rate(0.0),
        c.clone().learning_rate(f64::NAN),
        c.clone().validation_fraction(1.0),
        c.clone().validation_fraction(0.0).patience(Some(3)),
        c.clone().betas((1.0, 0.999)),
        c.clone().t_min(0.0),
    ] {
        assert!(m.train_dsm(&data, &lv, &bad).is_err(), "{bad:?} accepted");
    }
    // One data point with a validation split leaves nothing to train on.
    assert!(matches!(
        m.train_dsm(&data[..2], &lv, &c),
        Err(Error::InvalidConfig { .. })
    ));
    // ESM against a target of another dimension.
    let g3 = GaussianMixture::<f32>::ring(3, 1.0, 0.2).unwrap();
    let g1 = GaussianMixture::<f32>::new(vec![1.0], vec![vec![0.0]], vec![1.0]).unwrap();
    assert!(m.train_esm(&data, &g3, &lv, &c).is_ok());
    assert!(matches!(
        m.train_esm(&data, &g1, &lv, &c),
        Err(Error::DimensionMismatch { .. })
    ));
    // Model construction.
    assert!(NcsnMlp::<f32>::new(0, &[8], Embedding::Raw, 1).is_err());
    assert!(NcsnMlp::<f32>::new(2, &[], Embedding::Raw, 1).is_err());
    assert!(NcsnMlp::<f32>::new(2, &[8, 0], Embedding::Raw, 1).is_err());
    // Files.
    assert!(matches!(
        NcsnMlp::<f32>::from_safetensors(b"not a safetensors file"),
        Err(Error::ModelFile { .. })
    ));
    assert!(matches!(
        NcsnMlp::<f32>::load("/nonexistent/dir/model.safetensors"),
        Err(Error::ModelFile { .. })
    ));
}

#[test]
fn diverging_run_stops_with_epoch_and_keeps_last_good_weights() {
    // A learning rate of 1e30 makes Adam's first steps move weights by ~1e30: the f32 outputs
    // overflow, the loss is non-finite, and training must stop with TrainingDiverged naming
    // the epoch — with the weights of the last finished epoch (here: after epoch 0 with a
    // sane rate, then a second run from those weights with the huge rate).
    let mut m = NcsnMlp::<f32>::new(2, &[16], Embedding::Raw, 1).unwrap();
    let data = ring_data(500, 1);
    m.train_dsm(&data, &levels(), &TrainConfig::new().epochs(1))
        .unwrap();
    let good = m.net().params().to_vec();
    let err = m
        .train_dsm(
            &data,
            &levels(),
            &TrainConfig::new().epochs(5).learning_rate(1e30),
        )
        .unwrap_err();
    match err {
        Error::TrainingDiverged { epoch, loss, .. } => {
            assert_eq!(epoch, 0);
            assert!(!loss.is_finite());
        }
        e => panic!("expected TrainingDiverged, got {e}"),
    }
    assert_eq!(m.net().params(), good.as_slice());
    assert!(err_message_names_fix(&m, &data));
}

fn err_message_names_fix(m: &NcsnMlp<f32>, data: &[f32]) -> bool {
    let mut m = m.clone();
    let e = m
        .train_dsm(
            data,
            &levels(),
            &TrainConfig::new().epochs(1).learning_rate(1e30),
        )
        .unwrap_err();
    e.to_string().contains("lower the learning rate")
}

#[test]
fn validation_and_early_stopping() {
    // The validation loss is reported per epoch on held-out points and early stopping
    // restores the best epoch. Catches a validation loss computed on training points with
    // fresh noise every epoch (it would not be comparable) — here only its bookkeeping.
    let mut m = NcsnMlp::<f32>::new(2, &[16], Embedding::Raw, 1).unwrap();
    let r = m
        .train_dsm(
            &ring_data(1000, 1),
            &levels(),
            &TrainConfig::new()
                .epochs(200)
                .learning_rate(3e-2)
                .patience(Some(2))
                .seed(3),
        )
        .unwrap();
    assert_eq!(r.validation_loss.len(), r.epochs);
    assert!(r.stopped_early, "ran all {} epochs", r.epochs);
    let best = r.best_epoch.unwrap();
    let vmin = r
        .validation_loss
        .iter()
        .cloned()
        .fold(f64::INFINITY, f64::min);
    assert_eq!(r.validation_loss[best].to_bits(), vmin.to_bits());
    assert_eq!(r.epochs, best + 3);
    assert!(r.examples_per_second() > 0.0);
}

#[test]
fn time_from_noise_is_the_exact_marginal_score() {
    // For a mixture, the noise-conditional score seen through a VP SDE must equal the exact
    // marginal score: ∇log p_t(x) = (1/α_t) s(x/α_t, σ_t/α_t). Catches a missing 1/α_t on
    // the output or the input, or σ_t used without dividing by α_t (errors ≫ 1e-9 at t = 0.5,
    // where α_t ≈ 0.08). The VE SDE (α_t = 1) is the pass-through path.
    use langevin::annealed::{Marginal, Ve};
    use langevin::neural::TimeFromNoise;
    let g = GaussianMixture::<f64>::ring(4, 2.0, 0.3).unwrap();
    let xs: Vec<f64> = (0..40).map(|i| (i as f64 * 0.7).sin() * 2.5).collect();
    let vp = Vp::<f64>::linear(2, 0.1, 20.0).unwrap();
    let ve = Ve::<f64>::new(2, 0.01, 10.0).unwrap();
    for t in [0.05, 0.2, 0.5] {
        let (mut a, mut b) = (vec![0.0; 40], vec![0.0; 40]);
        TimeFromNoise::new(&g, vp)
            .unwrap()
            .score_t_batch_into(&xs, t, &mut a, &mut Vec::new());
        Marginal::new(&g, vp)
            .unwrap()
            .score_t_batch_into(&xs, t, &mut b, &mut Vec::new());
        for (u, v) in a.iter().zip(&b) {
            assert!(
                (u - v).abs() < 1e-9 * (1.0 + v.abs()),
                "VP t = {t}: {u} vs {v}"
            );
        }
        TimeFromNoise::new(&g, ve)
            .unwrap()
            .score_t_batch_into(&xs, t, &mut a, &mut Vec::new());
        Marginal::new(&g, ve)
            .unwrap()
            .score_t_batch_into(&xs, t, &mut b, &mut Vec::new());
        for (u, v) in a.iter().zip(&b) {
            assert!(
                (u - v).abs() < 1e-9 * (1.0 + v.abs()),
                "VE t = {t}: {u} vs {v}"
            );
        }
    }
}
